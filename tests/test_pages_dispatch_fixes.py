"""The dispatch console at 390×844 and 1366×768: the case panel's × and status badge are not
under the layer control, and a click on × closes the panel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, Screen, make_user
from tests.test_pages import needs_chromium, serve
from tests.test_pages_report_fixes import overlap

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def live(world_db: str) -> Iterator[str]:
    make_user(world_db, "disp", "dispatcher", "110199001")
    for base in serve(settings_for(world_db)):
        for category, lon in (("SJ0102", 116.012), ("BJ0101", 116.03)):
            report = {"category": category, "location": {"lon": lon, "lat": 39.021}}
            r = httpx.post(base + "/api/v1/incidents", json=report, timeout=30)
            assert r.status_code == 201, r.text
        yield base


@pytest.mark.parametrize(("locale", "badge"), [("zh-CN", "已上报"), ("en-US", "Reported")])
def test_case_panel_close_and_badge_are_clear_of_the_layer_control(
    live: str, screen: Screen, locale: str, badge: str
) -> None:
    b = screen.console(live, "disp", locale)
    page = b.page
    page.locator("#gg-list .gg-list-item").first.dispatch_event("click")
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(case.locator(".gg-badge")).to_have_text(badge)
    # the layer control and the base map switch (both Leaflet layer controls)
    controls = [c.bounding_box() for c in page.locator(".leaflet-control-layers").all()]
    assert len(controls) == 2 and None not in controls
    for part in (".gg-close", ".gg-badge"):
        box = case.locator(part).bounding_box()
        for control in controls:
            assert box is not None and control is not None
            assert not overlap(box, control), (part, box, control)
    case.locator(".gg-close").click(timeout=5000)  # a real click: nothing lies on top of it
    expect(case).not_to_have_attribute("data-state", "ready", timeout=WAIT)


def test_search_by_case_number_or_keyword(live: str, screen: Screen) -> None:
    b = screen.console(live, "disp")
    page = b.page
    items = page.locator("#gg-list > li")
    expect(items).to_have_count(2)
    ids = [i.get_attribute("data-incident") for i in items.all()]
    search = page.locator("#gg-search")
    expect(search).to_have_attribute("placeholder", "案件编号或关键词")
    search.fill(ids[1])
    expect(page.locator("#gg-list > li:not([hidden])")).to_have_count(1)
    expect(page.locator("#gg-list > li:not([hidden])")).to_have_attribute("data-incident", ids[1])
    search.fill("暴露垃圾")  # SJ0102's name: a keyword
    expect(page.locator("#gg-list > li:not([hidden])")).to_have_count(1)
    search.fill("no such words")
    expect(page.locator("#gg-list > li:not([hidden])")).to_have_count(0)
    search.fill(ids[0])
    search.press("Enter")  # a case number opens its case
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(case).to_contain_text(ids[0])


def test_the_selected_case_is_ringed_and_clear_of_the_panels(live: str, screen: Screen) -> None:
    b = screen.console(live, "disp")
    page = b.page
    first = page.locator("#gg-list > li").first
    incident = first.get_attribute("data-incident")
    first.locator(".gg-list-item").dispatch_event("click")
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-focused", incident, timeout=WAIT)
    ring = page.locator("path.gg-focus")
    expect(ring).to_have_count(1)
    box = ring.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= screen.width
    for panel in ("#gg-case", "#gg-console"):
        assert not overlap(box, page.locator(panel).bounding_box()), panel


def test_a_notifications_link_opens_its_case(live: str, screen: Screen) -> None:
    """Notifications link to /map/dispatch?incident=ID (api/services/notifications/text.py)."""
    b = screen.console(live, "disp")
    page = b.page
    wanted = page.locator("#gg-list > li").nth(1).get_attribute("data-incident")
    assert wanted
    page.goto(f"{live}/map/dispatch?incident={wanted}")
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(case).to_contain_text(wanted)
    page.goto(f"{live}/map/dispatch?incident=20990101-999999")  # no such case: said, no panel
    expect(case).to_have_attribute("data-state", "error", timeout=WAIT)  # said in the panel
    expect(case.locator(".gg-error")).to_contain_text("20990101-999999")
    assert all("404" in p for p in b.problems), b.problems  # only the refused GET
