"""GET /cases/{id}/print: the A4 case file, for staff in scope; rendered by Chromium to A4."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import settings_for
from tests.loop import Cast, advance_to, make_cast, report
from tests.pages_workflow_util import give_password, send_sign_in
from tests.photo_util import jpeg_with_gps, png
from tests.test_pages import needs_chromium, serve


@pytest.fixture
def app(world_db: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(world_db)
    settings.photos.photo_dir = tmp_path / "photos"
    with TestClient(create_app(settings)) as client:
        yield client


def photo(app: TestClient, incident: str, headers: dict[str, str], stage: str, data: bytes) -> None:
    r = app.post(
        f"/api/v1/incidents/{incident}/photos",
        data={"stage": stage},
        files=[("photo", ("p.jpg", data, "image/jpeg"))],
        headers=headers,
    )
    assert r.status_code == 201, r.text


def handled_case(app: TestClient, cast: Cast) -> str:
    inc = report(app, headers=cast.resident)
    photo(app, inc, cast.resident, "report", jpeg_with_gps())
    advance_to(app, cast, inc, "in_progress")
    photo(app, inc, cast.dept, "before", png())
    photo(app, inc, cast.dept, "after", png())
    advance_to_handled = app.post(
        f"/api/v1/incidents/{inc}/actions",
        json={"action": "handle", "note": "已清运 <b>完毕</b>"},
        headers=cast.dept,
    )
    assert advance_to_handled.status_code == 200
    return inc


def test_print_is_for_staff_in_scope(app: TestClient, token_for: Any) -> None:
    cast = make_cast(token_for)
    inc = handled_case(app, cast)
    r = app.get(f"/cases/{inc}/print", headers=cast.disp)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "@page { size: A4" in page and f"案卷 · {inc}" in page
    # summary, map (the grid's outline from ST_AsSVG and the point), timeline, photos
    assert "一社区第1网格 (110199001001001)" in page
    assert '<path d="M 116 -39 L 116.025 -39 116.025 -39.05 116 -39.05 Z" fill="#e8f0fe"' in page
    assert 'id="gg-print-point" cx="116.01" cy="-39.02"' in page
    assert "已清运 &lt;b&gt;完毕&lt;/b&gt;" in page  # escaped
    stages = re.findall(r'data-stage="(\w+)"><img src="/api/v1/photos/\d+"', page)
    assert stages == ["report", "before", "after"]
    assert "拍摄 2026-11-30 09:08" in page  # EXIF capture time, in the service's zone
    # who may print: staff whose scope holds it; others are refused, anonymous sign in first
    for who, status in (
        (cast.admin, 200),
        (cast.dept, 200),
        (cast.officer, 200),
        (cast.other_disp, 403),
        (cast.resident, 403),  # the reporter: /report/{id} is theirs, the case file is not
        (cast.neighbour, 403),
    ):
        assert app.get(f"/cases/{inc}/print", headers=who).status_code == status
    r = app.get(f"/cases/{inc}/print", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/cases/{inc}/print"
    assert app.get("/cases/20990101-000009/print", headers=cast.admin).status_code == 404
    assert app.get("/cases/a%20b/print", headers=cast.admin).status_code == 422


@pytest.mark.browser
@needs_chromium
def test_case_file_prints_on_a4(
    world_db: str,
    tmp_path: Path,
    token_for: Any,
    browsers,
) -> None:
    settings = settings_for(world_db)
    settings.photos.photo_dir = tmp_path / "photos"
    cast = make_cast(token_for)
    with TestClient(create_app(settings)) as client:
        inc = handled_case(client, cast)
    give_password(world_db, "disp")
    for base in serve(settings):
        b = browsers()
        page = b.page
        page.goto(f"{base}/cases/{inc}/print")
        send_sign_in(page, "disp")
        page.wait_for_url(f"{base}/cases/{inc}/print")
        images = page.locator("figure img")
        assert images.count() == 3
        page.wait_for_function(
            "() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)"
        )
        page.emulate_media(media="print")
        assert page.locator("#gg-print").is_hidden()
        page.screenshot(path="/tmp/gridgov-16-shots/case-print.png", full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF")
        # A4 portrait pages (595 × 842 pt); summary, map, timeline and photos on one page
        assert b"/MediaBox [0 0 595" in pdf or b"/MediaBox[0 0 595" in pdf
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
        assert b.blocked == [] and b.problems == []
