"""/report on a phone and a laptop: a sent form is gone, the pin stays in view, the location
button explains a refusal in the page's language, the scale bar keeps off the form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.pages_workflow_util import WAIT, browsers  # noqa: F401
from tests.test_pages import chromium, needs_chromium, serve  # noqa: F401
from tests.test_pages_report import incident_count, open_form

SIZES = [(390, 844), (1366, 768)]


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


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_sent_report_cannot_be_sent_again(
    live: str,
    browsers: Any,  # noqa: F811
    world_db: str,
    width: int,
    height: int,
    locale: str,
) -> None:
    b = browsers(
        viewport={"width": width, "height": height},
        locale=locale,
        geolocation={"latitude": 39.02, "longitude": 116.010},
        permissions=["geolocation"],
    )
    page = b.page
    open_form(page, live)
    page.click("#gg-geolocate")  # on a phone the form covers the grids' middle: no map click
    expect(page.locator("#gg-report")).to_have_attribute("data-state", "located", timeout=WAIT)
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


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_my_location_puts_the_pin_in_view_and_the_scale_off_the_form(
    live: str,
    browsers: Any,  # noqa: F811
    width: int,
    height: int,
) -> None:
    b = browsers(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        geolocation={"latitude": 39.02, "longitude": 116.010},
        permissions=["geolocation"],
    )
    page = b.page
    open_form(page, live)
    page.click("#gg-geolocate")
    expect(page.locator("#gg-report")).to_have_attribute("data-state", "located", timeout=WAIT)
    sheet = page.locator("#gg-report").bounding_box()
    pin = page.locator(".gg-pin").bounding_box()
    assert pin is not None and sheet is not None
    assert not overlap(pin, sheet), (pin, sheet)
    assert 0 <= pin["y"] and pin["y"] + pin["height"] <= height
    scale = page.locator(".leaflet-control-scale")
    if scale.is_visible():
        assert not overlap(scale.bounding_box(), sheet)


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize(
    ("locale", "words"),
    [("zh-CN", "位置权限被拒绝"), ("en-US", "Location access was refused")],
)
def test_a_refused_location_is_explained_in_the_pages_language(
    live: str,
    browsers: Any,  # noqa: F811
    width: int,
    height: int,
    locale: str,
    words: str,
) -> None:
    b = browsers(viewport={"width": width, "height": height}, locale=locale)  # no permission
    page = b.page
    open_form(page, live)
    page.click("#gg-geolocate")
    place = page.locator("#gg-place")
    expect(place).to_have_attribute("data-state", "error", timeout=WAIT)
    expect(place).to_contain_text(words)
    assert "secure origins" not in place.inner_text()
