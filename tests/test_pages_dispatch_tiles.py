"""The dispatch console with more incidents than one page: vector tiles zoomed out, markers in view.

The live server here sends at most 5 incidents as markers (GRIDGOV_INCIDENT_MARKERS=5), so the
13 reports below put the console in its large mode: the list shows the newest page, zoomed out
the incidents are drawn from /tiles/incidents (canvas, filters as tile parameters, a click opens
the case), zoomed in the markers of the visible area come from GET /api/v1/incidents?bbox=….
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import settings_for
from tests.pages_workflow_util import (
    WAIT,
    make_user,
    marker,
    point_in_clear_map,
    point_in_page,
    sign_in_to_console,
)
from tests.test_pages import needs_chromium, serve

MARKERS_MAX = 5
FAR = (39.030, 116.040)  # grid G2, alone: far from the row of twelve
OUTSIDE = (39.070, 116.030)  # community 二社区, which has no grids: no grid drawn under it


@pytest.fixture
def live(world_db: str) -> Iterator[str]:
    config = settings_for(world_db)
    config.map.incident_markers = MARKERS_MAX
    yield from serve(config)


def report(client: httpx.Client, lat: float, lon: float, category: str = "SJ0102") -> str:
    body = {"category": category, "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def tiles_drawn(page: Any) -> None:
    status = page.locator("#status")
    expect(status).to_have_attribute("data-mode", "tiles", timeout=WAIT)
    expect(status).to_have_attribute("data-tiles", "loaded", timeout=WAIT)


@pytest.mark.browser
@needs_chromium
def test_many_incidents_come_as_tiles_zoomed_out_and_markers_zoomed_in(
    live: str,
    browsers: Any,
    world_db: str,
) -> None:
    make_user(world_db, "boss", "dispatcher", area="110199")
    with httpx.Client(base_url=live, timeout=10) as client:
        outside = report(client, *OUTSIDE)
        row = [report(client, 39.02, 116.010 + i * 1e-4) for i in range(11)]
        manhole = report(client, 39.02, 116.0111, "BJ0101")
        far = report(client, *FAR)
    b = browsers()
    page = b.page
    tile_requests: list[str] = []
    page.on("request", lambda r: "/tiles/incidents/" in r.url and tile_requests.append(r.url))
    sign_in_to_console(page, live, "boss")

    # the list: the newest page only, and the status line says there are more
    newest = [far, manhole, *row[::-1]][:MARKERS_MAX]
    items = page.locator("#gg-list li")
    expect(items).to_have_count(MARKERS_MAX)
    assert [li.get_attribute("data-incident") for li in items.all()] == newest
    expect(page.locator("#status")).to_contain_text(f"Over {MARKERS_MAX}")

    # zoomed out: no markers, the incidents come as tiles with the console's filters
    page.evaluate("gridgovMap.setView([39.025, 116.025], 14, {animate: false})")
    tiles_drawn(page)
    expect(page.locator(".gg-inc")).to_have_count(0)
    assert tile_requests and all("status=" in url for url in tile_requests), tile_requests
    # a click on a drawn incident opens its case
    at = point_in_page(page, *FAR, 14)
    tiles_drawn(page)
    page.locator(".folium-map").click(position=at)
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-incident", far, timeout=WAIT)
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)
    # the case is ringed and panned clear of the panels (before the map moves on)
    expect(case).to_have_attribute("data-focused", far, timeout=WAIT)
    # also where no grid is drawn (the click lands on an empty canvas tile), clear of the panel
    at = point_in_clear_map(page, *OUTSIDE, 14)
    tiles_drawn(page)
    page.locator(".folium-map").click(position=at)
    expect(case).to_have_attribute("data-incident", outside, timeout=WAIT)
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)

    # a filter change re-asks the tiles with it
    category = "#gg-filters select[name=category]"
    with page.expect_request(lambda r: "/tiles/incidents/" in r.url and "category=SJ01" in r.url):
        page.select_option(category, "SJ01")
    tiles_drawn(page)
    # one manhole fits one page: the console is back to markers for everything
    page.select_option(category, "BJ01")
    expect(items).to_have_count(1)
    expect(page.locator("#status")).to_have_attribute("data-mode", "markers", timeout=WAIT)
    expect(marker(page, manhole)).to_have_count(1)
    page.select_option(category, "")
    tiles_drawn(page)
    expect(page.locator(".gg-inc")).to_have_count(0)

    # zoomed in: the markers of the visible area only
    page.evaluate("gridgovMap.setView([39.02, 116.0105], 20, {animate: false})")
    expect(page.locator("#status")).to_have_attribute("data-mode", "markers", timeout=WAIT)
    expect(page.locator(".gg-inc")).to_have_count(12, timeout=WAIT)
    expect(marker(page, far)).to_have_count(0)
    # a report in view arrives live as a marker; one elsewhere stays off the map
    with httpx.Client(base_url=live, timeout=10) as client:
        here = report(client, 39.0201, 116.0106)
        there = report(client, 39.031, 116.041)
    expect(marker(page, here)).to_have_count(1, timeout=WAIT)
    expect(page.locator(f'#gg-list li[data-incident="{there}"]')).to_have_count(1)
    expect(marker(page, there)).to_have_count(0)

    # zoomed out again: a live report redraws the tiles
    page.evaluate("gridgovMap.setView([39.025, 116.025], 14, {animate: false})")
    tiles_drawn(page)
    expect(page.locator(".gg-inc")).to_have_count(0)
    with page.expect_request(lambda r: "/tiles/incidents/14/" in r.url, timeout=WAIT):
        with httpx.Client(base_url=live, timeout=10) as client:
            report(client, 39.032, 116.042)
    tiles_drawn(page)
    assert b.blocked == [] and b.problems == []
