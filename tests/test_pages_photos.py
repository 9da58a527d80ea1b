"""Photos on the pages, in headless Chromium: a phone reports with a photo on /report (its GPS
offered as the place), the dispatcher sees it in the case panel, the public on /report/{id}, and
the served bytes carry no GPS; the department's handle form uploads before/after photos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect

from tests.loop import G1, STREET
from tests.pages_workflow_util import WAIT, make_user, open_case, sign_in_to_console, take_action
from tests.photo_util import (
    GPS_LAT,
    GPS_LON,
    has_gps,
    jpeg_with_gps,
    png,
    serve_with_photos,
    stored_files,
)
from tests.test_pages import needs_chromium, serve  # noqa: F401  (fixture)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
SHOTS = Path("/tmp/gridgov-16-shots")


@pytest.fixture
def live(world_db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from serve_with_photos(world_db, tmp_path)


def photo_rows(world_db: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(world_db) as conn:
        return list(
            conn.execute(
                "SELECT i.public_id, p.stage, p.capture_lon IS NOT NULL FROM incident_photos p "
                "JOIN incidents i ON i.id = p.incident_id ORDER BY p.id"
            ).fetchall()
        )


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.browser
@needs_chromium
def test_phone_report_with_photo_seen_by_dispatcher_and_public(
    live: tuple[str, Path],
    browsers,
    world_db: str,
) -> None:
    base, photo_dir = live
    phone = browsers(has_touch=True, locale="zh-CN")  # a resident's phone, in Chinese
    page = phone.page
    page.set_viewport_size(PHONE)
    page.goto(base + "/report")
    root = page.locator("#gg-report")
    expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
    camera = page.locator(".gg-photo-camera")  # the phone's camera, directly
    assert camera.get_attribute("capture") == "environment"
    picker = page.locator(".gg-photo-gallery")  # or photos already taken
    assert picker.get_attribute("capture") is None and picker.get_attribute("multiple") is not None
    assert camera.get_attribute("accept") == picker.get_attribute("accept") == "image/*"
    # The buttons are the labels in the page's language; the browser's own file-input words
    # ("Choose Files", in the browser's language) are not drawn: the inputs take no room.
    buttons = page.locator(".gg-photo-add")
    expect(buttons).to_have_text(["拍照", "从相册选择"])
    for native in (camera, picker):
        box = native.bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1
    boxes = [b.bounding_box() for b in buttons.all()]
    assert all(b is not None and b["height"] >= 44 for b in boxes)  # a thumb's target
    buttons.first.scroll_into_view_if_needed()
    shot(page, "report-phone-picker")

    # two photos chosen, one removed again before sending
    picker.set_input_files(
        [
            {"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()},
            {"name": "other.png", "mimeType": "image/png", "buffer": png()},
        ]
    )
    previews = page.locator(".gg-photo-preview")
    expect(previews).to_have_count(2, timeout=WAIT)
    # no place chosen yet: the JPEG's GPS is offered as the location
    use_gps = page.locator("#gg-use-gps")
    expect(use_gps).to_be_visible(timeout=WAIT)
    use_gps.scroll_into_view_if_needed()
    shot(page, "report-phone-photos")
    previews.nth(1).locator(".gg-photo-remove").click()
    expect(previews).to_have_count(1)
    use_gps.click()
    expect(root).to_have_attribute("data-state", "located", timeout=WAIT)
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G1)
    point = page.evaluate("[GridGov.report.point.lon, GridGov.report.point.lat]")
    assert abs(point[0] - GPS_LON) < 1e-5 and abs(point[1] - GPS_LAT) < 1e-5
    page.select_option("#gg-category", "SJ0102")
    page.fill("#gg-description", "路边暴露垃圾，照片为证")
    page.click("#gg-submit")
    result = page.locator("#gg-result")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    incident = str(result.get_attribute("data-incident"))
    expect(page.locator("#gg-upload")).to_have_attribute("value", "1")
    assert photo_rows(world_db) == [(incident, "report", True)]
    assert len(stored_files(photo_dir)) == 2

    # the public page of the report shows the photo; the bytes served carry no GPS
    page.goto(base + "/report/" + incident)
    track = page.locator("#gg-track")
    expect(track).to_have_attribute("data-state", "ready", timeout=WAIT)
    thumbs = page.locator("#gg-track-gallery .gg-photo img")
    expect(thumbs).to_have_count(1)
    expect(thumbs.first).to_have_js_property("complete", True)
    assert thumbs.first.evaluate("(img) => img.naturalWidth") > 0
    shot(page, "report-status-phone")
    url = str(page.locator("#gg-track-gallery .gg-photo").first.get_attribute("href"))
    served = page.request.get(base + url)
    assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
    assert not has_gps(served.body())
    page.locator("#gg-track-gallery .gg-photo").first.click()
    full = page.locator(".gg-lightbox img")
    expect(full).to_be_visible()
    assert full.evaluate("(img) => img.complete && img.naturalHeight") == 2048
    page.keyboard.press("Escape")
    expect(page.locator(".gg-lightbox")).to_have_count(0)

    # the dispatcher's case panel shows it in the gallery, with when the camera took it
    make_user(world_db, "disp", "dispatcher", STREET)
    desk = browsers()
    desk.page.set_viewport_size(DESK)
    sign_in_to_console(desk.page, base, "disp")
    open_case(desk.page, incident)
    gallery = desk.page.locator("#gg-case #gg-gallery")
    expect(gallery).to_have_attribute("data-count", "1")
    stage = gallery.locator('.gg-photo-stage[data-stage="report"] .gg-photo img')
    expect(stage).to_have_count(1)
    expect(stage.first).to_have_js_property("complete", True)
    shot(desk.page, "dispatch-case-gallery")
    gallery.locator(".gg-photo").first.click()
    caption = desk.page.locator(".gg-lightbox-caption")
    expect(caption).to_contain_text("Taken")
    # the dispatcher hides it from the public, with a reason
    desk.page.locator(".gg-photo-hide input[name=reason]").fill("拍到路人面部")
    desk.page.locator(".gg-photo-hide button").click()
    expect(desk.page.locator(".gg-lightbox")).to_have_count(0)
    expect(desk.page.locator("#gg-gallery .gg-photo-hidden")).to_have_count(1, timeout=WAIT)
    expect(desk.page.locator('#gg-timeline li[data-action="hide_photo"]')).to_have_count(1)
    page.reload()
    expect(track).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(page.locator("#gg-track-gallery")).to_have_count(0)
    assert page.request.get(base + url).status == 404
    assert phone.blocked == [] and desk.blocked == []
    assert phone.problems == [] and desk.problems == []


@pytest.mark.browser
@needs_chromium
def test_department_handles_with_before_and_after_photos(
    live: tuple[str, Path],
    browsers,
    world_db: str,
    token_for: Any,
) -> None:
    import httpx

    base, _ = live
    disp = token_for("disp", "dispatcher", STREET)
    body = {"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}}
    incident = httpx.post(base + "/api/v1/incidents", json=body).json()["id"]
    for action in ("register", "dispatch"):
        r = httpx.post(
            f"{base}/api/v1/incidents/{incident}/actions", json={"action": action}, headers=disp
        )
        assert r.status_code == 200, r.text
    make_user(world_db, "cm", "department", department="CITYMGMT-001")
    b = browsers()
    page = b.page
    page.set_viewport_size(DESK)
    sign_in_to_console(page, base, "cm")
    open_case(page, incident)
    take_action(page, "accept", "in_progress")
    page.locator('#gg-actions button[data-action="handle"]').click()
    form = page.locator('#gg-action-form[data-action="handle"]')
    form.locator('.gg-photo-picker[data-stage="before"] .gg-photo-gallery').set_input_files(
        [{"name": "before.png", "mimeType": "image/png", "buffer": png((640, 480))}]
    )
    form.locator('.gg-photo-picker[data-stage="after"] .gg-photo-camera').set_input_files(
        [{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}]
    )
    expect(form.locator(".gg-photo-preview")).to_have_count(2)
    # four buttons in the page's words (two stages × camera, gallery), no browser file words
    expect(form.locator(".gg-photo-add")).to_have_count(4)
    for native in form.locator("input[type=file]").all():
        box = native.bounding_box()
        assert box is not None and box["width"] <= 1
    form.locator(".gg-photo-picker").first.scroll_into_view_if_needed()
    shot(page, "handle-form-pickers")
    form.locator("textarea[name=note]").fill("已清运完毕")
    form.locator("button.gg-confirm").click()
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-status", "handled", timeout=WAIT)
    pair = case.locator(".gg-photo-pair")
    expect(pair.locator('[data-stage="before"] .gg-photo')).to_have_count(1)
    expect(pair.locator('[data-stage="after"] .gg-photo')).to_have_count(1)
    shot(page, "dispatch-before-after")
    rows = photo_rows(world_db)
    assert [r[1] for r in rows] == ["before", "after"]
    event = httpx.get(f"{base}/api/v1/incidents/{incident}", headers=disp).json()["events"][-1]
    ids = [
        p["id"]
        for p in httpx.get(f"{base}/api/v1/incidents/{incident}", headers=disp).json()["photos"]
    ]
    assert event["action"] == "handle" and event["data"]["photo_ids"] == ids
    assert b.blocked == [] and b.problems == []
