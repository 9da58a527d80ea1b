"""The dispatch console at 390×844 and 1366×768: each list entry says where the case is (building,
road or grid name), and a list click on one of three reports at one spot keeps a street-level
zoom (≤ 18) and spreads the three markers apart instead of zooming to a few metres."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, Screen, make_user
from tests.test_pages import needs_chromium, serve

SPOT = {"lon": 116.012, "lat": 39.021}  # grid 一社区第1网格, no building near
IN_BUILDING = {"lon": 116.0242, "lat": 39.0105}  # inside 一号楼

# The centre of each incident's marker on screen (null when not drawn or not in view).
CENTRES = """(ids) => JSON.parse(ids).map((id) => {
  const el = document.querySelector(`.gg-inc[data-incident="${id}"]`);
  const r = el && el.getBoundingClientRect();
  if (!r || r.width === 0 || r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) return null;
  return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)];
})"""

# True once every marker is drawn, at a distinct place, the same as at the previous poll.
SPREAD_AND_STILL = f"""(ids) => {{
  const now = JSON.stringify(({CENTRES})(ids));
  const still = now === window.ggLastCentres;
  window.ggLastCentres = now;
  const centres = JSON.parse(now);
  return still && centres.every((c) => c) && new Set(centres.map(String)).size === centres.length;
}}"""


@pytest.fixture
def live(world_db: str) -> Iterator[dict[str, Any]]:
    make_user(world_db, "pdisp", "dispatcher", "110199001")
    for base in serve(settings_for(world_db)):
        ids = []
        for category, where in [
            ("SJ0102", SPOT),
            ("BJ0101", SPOT),
            ("SH0101", SPOT),
            ("SJ0102", IN_BUILDING),
        ]:
            r = httpx.post(
                base + "/api/v1/incidents",
                json={"category": category, "location": where},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        yield {"base": base, "spot": ids[:3], "building": ids[3]}


@pytest.mark.browser
@needs_chromium
def test_list_says_where_and_keeps_a_street_zoom(live: dict[str, Any], screen: Screen) -> None:
    b = screen.console(live["base"], "pdisp")
    page = b.page
    for incident in live["spot"]:
        entry = page.locator(f'#gg-list > li[data-incident="{incident}"] .gg-list-place')
        expect(entry).to_have_text("一社区第1网格")
    place = page.locator(f'#gg-list > li[data-incident="{live["building"]}"] .gg-list-place')
    expect(place).to_have_text("一号楼")
    assert place.bounding_box() is not None  # shown, not cut away

    page.locator(f'#gg-list > li[data-incident="{live["spot"][1]}"] .gg-list-item').dispatch_event(
        "click"
    )
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-focused", live["spot"][1], timeout=WAIT)
    zoom = page.evaluate("gridgovMap.getZoom()")
    assert 16 <= zoom <= 18, zoom
    # The spread-out markers move into place (Leaflet.markercluster animates them) and may be
    # drawn again by a later redraw: wait until the three stand still, apart, each in view.
    spot = json.dumps(live["spot"])
    try:
        page.wait_for_function(SPREAD_AND_STILL, arg=spot, polling=200, timeout=WAIT)
    except PlaywrightTimeout:
        centres = page.evaluate(CENTRES, spot)
        pytest.fail(f"the three reports at one spot are not spread apart: {centres}")
    assert b.problems == []
