"""/report on a phone and a laptop: a sent form is gone, the pin stays in view, the location
button explains a refusal in the page's language, the scale bar keeps off the form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.pages_workflow_util import WAIT, Screen
from tests.test_pages import needs_chromium, serve  # noqa: F401
from tests.test_pages_report import incident_count, open_form

pytestmark = [pytest.mark.browser, needs_chromium]


def overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    """Whether two bounding boxes share any area."""
    if not a or not b:
        return False
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def located_by_the_phone(screen: Screen, base: str, locale: str) -> Any:
    """/report with the device's location allowed (a point in grid G1), "my location" pressed
    and the form located; the page."""
    b = screen.open(
        locale=locale,
        geolocation={"latitude": 39.02, "longitude": 116.010},
        permissions=["geolocation"],
    )
    page = b.page
    open_form(page, base)
    page.click("#gg-geolocate")
    expect(page.locator("#gg-report")).to_have_attribute("data-state", "located", timeout=WAIT)
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_sent_report_cannot_be_sent_again(
    live: str, screen: Screen, world_db: str, locale: str
) -> None:
    # on a phone the form covers the grids' middle: no map click
    page = located_by_the_phone(screen, live, locale)
    page.select_option("#gg-category", "SJ0102")
    page.click("#gg-submit")
    result = page.locator("#gg-result")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    expect(result).to_be_visible()
    # the form is gone (its `hidden` is no longer beaten by `display: grid`)
    expect(page.locator("#gg-report-form")).to_be_hidden()
    expect(page.locator("#gg-submit")).to_be_hidden()
    assert incident_count(world_db) == 1
    heading = {"zh-CN": "已受理", "en-US": "Received"}[locale]
    expect(result.locator("h2")).to_have_text(heading)


def test_my_location_puts_the_pin_in_view_and_the_scale_off_the_form(
    live: str, screen: Screen
) -> None:
    page = located_by_the_phone(screen, live, "zh-CN")
    sheet = page.locator("#gg-report").bounding_box()
    pin = page.locator(".gg-pin").bounding_box()
    assert pin is not None and sheet is not None
    assert not overlap(pin, sheet), (pin, sheet)
    assert 0 <= pin["y"] and pin["y"] + pin["height"] <= screen.height
    scale = page.locator(".leaflet-control-scale")
    if scale.is_visible():
        assert not overlap(scale.bounding_box(), sheet)


@pytest.mark.parametrize(
    ("locale", "words"),
    [("zh-CN", "位置权限被拒绝"), ("en-US", "Location access was refused")],
)
def test_a_refused_location_is_explained_in_the_pages_language(
    live: str, screen: Screen, locale: str, words: str
) -> None:
    b = screen.open(locale=locale)  # no permission
    page = b.page
    open_form(page, live)
    page.click("#gg-geolocate")
    place = page.locator("#gg-place")
    expect(place).to_have_attribute("data-state", "error", timeout=WAIT)
    expect(place).to_contain_text(words)
    assert "secure origins" not in place.inner_text()
