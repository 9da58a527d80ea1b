"""The base map in the browser: streets and their Chinese names on /report, /report/{id},
/map/dispatch and /map/edit at zooms 13–18, with nothing fetched from outside the machine."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.basemap_util import (
    CONTROL,
    ROAD_NAME,
    ROAD_POINT,
    band,
    basemap_db,  # noqa: F401  (fixture)
    drawn,
    name_scores,
    west_east_line,
)
from tests.conftest import settings_for
from tests.pages_edit_util import EditorBrowser, make_officer
from tests.pages_workflow_util import WAIT, make_user, sign_in_to_console
from tests.test_pages import Offline, needs_chromium, serve

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
# GRIDGOV_SCREENSHOTS=docs/screenshots keeps each page's map at zoom 16 (as in docs/).
SHOTS = os.environ.get("GRIDGOV_SCREENSHOTS")
STREET = "110199001"
# Every tile loaded and faded in (Leaflet fades a new tile from opacity 0 over 200 ms: a
# screenshot taken before shows the ground through it), and no zoom or pan under way.
TILES_LOADED = """() => {
    const tiles = [...document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile')];
    return tiles.length > 0 && tiles.every(t => t.complete && t.naturalWidth > 0
        && t.classList.contains('leaflet-tile-loaded')
        && parseFloat(getComputedStyle(t).opacity) >= 1)
        && !gridgovMap._animatingZoom && !(gridgovMap._panAnim && gridgovMap._panAnim._inProgress);
}"""


@pytest.fixture
def live(basemap_db: str) -> Iterator[str]:  # noqa: F811
    yield from serve(settings_for(basemap_db))


def offline_page(chromium: Browser, viewport: dict[str, int]) -> Offline:
    """A page that may reach only 127.0.0.1 (other requests are aborted and recorded)."""
    state = Offline(chromium.new_context(viewport=viewport).new_page())
    state.page.route("**/*", state.route)
    return state


def report_on_a_phone(chromium: Browser, base: str) -> Offline:
    """/report, ready, in an offline page of a phone's size."""
    state = offline_page(chromium, PHONE)
    state.page.goto(base + "/report")
    expect(state.page.locator("#gg-report")).to_have_attribute("data-ready", "true", timeout=WAIT)
    return state


ROAD_ROW = 200  # px from the map's top: above the phone's form, clear of every panel


def map_at(page: Page, zoom: int) -> tuple[np.ndarray, tuple[int, int], bytes]:
    """Show 清华东路 at `zoom` near the map's top, wait for every tile; the map as darkness,
    the road's row in it, and the screenshot."""
    page.evaluate(
        """([lat, lon, z, row]) => {
            gridgovMap.setView([lat, lon], z, {animate: false});
            const at = gridgovMap.latLngToContainerPoint([lat, lon]);
            gridgovMap.panBy([0, at.y - row], {animate: false});
        }""",
        [ROAD_POINT[1], ROAD_POINT[0], zoom, ROAD_ROW],
    )
    page.wait_for_function(TILES_LOADED, timeout=WAIT)
    assert page.evaluate("gridgovMap.getZoom()") == zoom
    x, y = page.evaluate(
        "([lat, lon]) => { const p = gridgovMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [ROAD_POINT[1], ROAD_POINT[0]],
    )
    shot = page.locator(".folium-map").screenshot()
    # the page did not move the map while it was photographed
    assert page.evaluate(
        "([lat, lon]) => { const p = gridgovMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [ROAD_POINT[1], ROAD_POINT[0]],
    ) == [x, y]
    gray = Image.open(io.BytesIO(shot)).convert("L")
    return 1.0 - np.asarray(gray, dtype=np.float64) / 255.0, (round(x), round(y)), shot


def assert_streets_and_names(page: Page, name: str, columns: slice = slice(None)) -> None:
    """At zooms 13–18 the road is drawn across the map and its Chinese name on it (looked for
    in `columns` of the map, those no panel of the page covers)."""
    for z in range(13, 19):
        image, (x, row), shot = map_at(page, z)
        # the road runs at least 90 px either side of the point at zoom 13 (it is 4 km long)
        assert west_east_line(image[:, x - 90 : x + 90], row), (name, z)
        around = band(image[:, columns], row)
        scores = name_scores(around, ROAD_NAME)
        assert drawn(around, ROAD_NAME), (name, z, scores)
        assert max(name_scores(around, CONTROL)) < min(scores), (name, z)
        if z == 16 and SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            (Path(SHOTS) / f"basemap-{name}.png").write_bytes(shot)
    tiles = page.locator(".leaflet-tile-pane img").evaluate_all("els => els.map(e => e.src)")
    assert all("/basemap/" in t for t in tiles), tiles


def report_incident(base: str) -> str:
    r = httpx.post(
        base + "/api/v1/incidents",
        json={
            "category": "SJ0102",
            "description": "暴露垃圾",
            "location": {"lon": 116.01, "lat": 39.02},
        },
        headers={"Idempotency-Key": "basemap-page-test"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.browser
@needs_chromium
def test_report_pages_on_a_phone_show_streets_and_names(live: str, chromium: Browser) -> None:
    state = report_on_a_phone(chromium, live)
    page = state.page
    expect(page.locator(".leaflet-control-attribution")).to_contain_text(
        "© OpenStreetMap contributors"
    )
    assert_streets_and_names(page, "report")

    incident = report_incident(live)
    page.goto(f"{live}/report/{incident}")
    expect(page.locator("#gg-track")).to_have_attribute("data-state", "ready", timeout=WAIT)
    assert_streets_and_names(page, "report-status")
    assert state.blocked == []
    page.context.close()


@pytest.mark.browser
@needs_chromium
def test_dispatch_and_editor_show_streets_and_names(
    live: str,
    chromium: Browser,
    basemap_db: str,  # noqa: F811
) -> None:
    make_user(basemap_db, "disp", "dispatcher", area=STREET)
    state = offline_page(chromium, DESKTOP)
    sign_in_to_console(state.page, live, "disp")
    assert_streets_and_names(state.page, "dispatch", slice(350, None))  # panel on the left
    assert state.blocked == []
    state.page.context.close()

    make_officer(basemap_db)
    context = chromium.new_context(viewport=DESKTOP)
    editor = EditorBrowser(context.new_page(), live)
    editor.sign_in()
    assert_streets_and_names(editor.page, "edit", slice(0, 960))  # panel on the right
    editor.assert_offline()
    context.close()


@pytest.mark.browser
@needs_chromium
def test_the_switch_shows_plain_ground_and_is_remembered(live: str, chromium: Browser) -> None:
    state = report_on_a_phone(chromium, live)
    page = state.page
    map_at(page, 16)
    expect(page.locator("body")).to_have_attribute("data-basemap", "on")
    page.locator("#gg-basemap-toggle").uncheck()
    expect(page.locator("body")).to_have_attribute("data-basemap", "off")
    expect(page.locator(".leaflet-tile-pane img")).to_have_count(0)
    page.goto(live + "/")  # another page (the overview): still plain ground
    expect(page.locator("body")).to_have_attribute("data-basemap", "off", timeout=WAIT)
    expect(page.locator(".leaflet-tile-pane img")).to_have_count(0)
    assert not page.locator("#gg-basemap-toggle").is_checked()
    page.goto(live + "/report")
    page.locator("#gg-basemap-toggle").check()
    expect(page.locator("body")).to_have_attribute("data-basemap", "on")
    page.wait_for_function(TILES_LOADED, timeout=WAIT)
    assert state.blocked == []
    page.context.close()
