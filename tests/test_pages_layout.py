"""Layout at 390×844 and 1366×768 (issue 17, what the screenshots showed): the panels leave the
base map's credit line readable and do not cover the map's controls; on a phone the evaluation
panel and the boundary editor are sheets over the bottom half, the map in view above them; the
header names the signed-in user in full; the printed case file reads in one column on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, Screen, make_user
from tests.test_pages import needs_chromium, serve
from tests.test_pages_report_fixes import overlap

CONTROLS = ".leaflet-control-zoom, .leaflet-control-layers"


@pytest.fixture
def live(world_db: str) -> Iterator[tuple[str, str]]:
    """The app, an administrator `ada`, one incident (its id)."""
    make_user(world_db, "ada", "admin")
    for base in serve(settings_for(world_db)):
        report = {"category": "SJ0102", "location": {"lon": 116.012, "lat": 39.021}}
        r = httpx.post(base + "/api/v1/incidents", json=report, timeout=30)
        assert r.status_code == 201, r.text
        yield base, r.json()["id"]


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def clear_of_map_furniture(page: Page, panels: list[str]) -> None:
    """No panel covers the attribution line or a control of the map."""
    furniture = [c.bounding_box() for c in page.locator(CONTROLS).all() if c.is_visible()]
    furniture.append(box(page, ".leaflet-control-attribution"))
    for panel in panels:
        mine = box(page, panel)
        for other in furniture:
            assert not overlap(mine, other), (panel, mine, other)


@pytest.mark.browser
@needs_chromium
def test_panels_leave_the_map_its_controls_and_credit(
    live: tuple[str, str], screen: Screen
) -> None:
    base, public_id = live
    b = screen.console(base, "ada")
    page = b.page
    # the header names the user and role in full
    user = page.locator("#gg-shell-user")
    expect(user).to_have_text("ada · 管理员")
    assert user.evaluate("e => e.scrollWidth <= e.clientWidth"), "the user's name is cut off"

    page.locator("#gg-list .gg-list-item").first.dispatch_event("click")
    expect(page.locator("#gg-case")).to_have_attribute("data-state", "ready", timeout=WAIT)
    clear_of_map_furniture(page, ["#gg-case"] + ([".gg-console"] if screen.width > 720 else []))

    page.goto(base + "/report")
    expect(page.locator("#gg-report")).to_have_attribute("data-ready", "true", timeout=WAIT)
    clear_of_map_furniture(page, ["#gg-report"])

    map_box = box(page, ".folium-map")
    for path, panel in (("/map/stats", ".gg-stats"), ("/map/edit", ".gg-editor")):
        page.goto(base + path)
        expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
        clear_of_map_furniture(page, [panel] + ([".gg-detail"] if path == "/map/stats" else []))
        # on a phone a sheet covers the bottom half: the upper half of the map is in view
        if screen.width <= 720:
            assert box(page, panel)["y"] >= map_box["y"] + map_box["height"] * 0.45, path

    # the printed case file on a phone: the summary is as wide as the page, not a sliver
    page.goto(f"{base}/cases/{public_id}/print")
    summary = box(page, "dl")
    assert summary["width"] >= min(screen.width, 600) * 0.5, summary
    assert b.problems == []
