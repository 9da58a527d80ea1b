"""Photos through POST /api/v1/incidents (multipart): stored re-encoded, or refused leaving nothing.

Every image here is a real file made by tests/photo_util.py; the store is a real directory.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import one_row, settings_for
from tests.photo_util import (  # noqa: F401  (fixtures)
    GPS_LAT,
    GPS_LON,
    corrupt_jpeg,
    decoded,
    has_gps,
    heic,
    jpeg_with_gps,
    multipart,
    not_an_image,
    oversized_png,
    photo_app_fixture,
    photo_dir_fixture,
    png,
    png_bomb,
    stored_files,
    webp,
)

REPORT = {
    "category": "SJ0102",
    "description": "路边暴露垃圾，附照片",
    "location": {"lon": 116.010, "lat": 39.020},
}


def counts(url: str) -> tuple[int, int, int]:
    incidents, photos, files = one_row(
        url,
        "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_photos), "
        "(SELECT count(*) FROM photo_files)",
    )
    return incidents, photos, files


def test_report_with_three_photos_is_stored_reencoded_without_metadata(
    app: TestClient, world_db: str, photo_dir: Path, token_for: Any
) -> None:
    r = app.post(
        "/api/v1/incidents",
        **multipart(
            REPORT, (jpeg_with_gps(), "image/jpeg"), (png(), "image/png"), (webp(), "image/webp")
        ),
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "reported" and doc["assignment"]["grid"]["code"] == "110199001001001"
    photos = doc["photos"]
    assert [p["stage"] for p in photos] == ["report"] * 3
    # the anonymous reporter sees no EXIF data and no uploader
    assert "captured_at" not in photos[0] and "uploaded_by" not in photos[0]
    assert counts(world_db) == (1, 3, 3)
    # two files per photo (served + thumbnail), nothing else (no temporary files)
    assert len(stored_files(photo_dir)) == 6

    # served: upright (3000×2000 landscape with orientation 6 → 1365×2048 portrait), no EXIF/GPS
    served = app.get(photos[0]["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    im = decoded(served.content)
    assert im.size == (1365, 2048) and (photos[0]["width"], photos[0]["height"]) == (1365, 2048)
    assert not has_gps(served.content)
    # the red block was top-left of the stored pixels; rotated clockwise it is top-right
    assert im.getpixel((im.width - 20, 20))[0] > 180 and im.getpixel((20, 20))[0] < 100
    thumb = app.get(photos[0]["thumb_url"])
    assert max(decoded(thumb.content).size) == 320 and not has_gps(thumb.content)
    # the PNG's transparency is laid on white; every served file is a JPEG
    assert decoded(app.get(photos[1]["url"]).content).mode == "RGB"
    assert decoded(app.get(photos[2]["url"]).content).format == "JPEG"
    # an ETag answers a revalidation with 304
    again = app.get(photos[0]["url"], headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304

    # staff in scope see when and where the camera says it was taken
    disp = token_for("disp", "dispatcher", "110199001")
    staff = app.get(f"/api/v1/incidents/{doc['id']}", headers=disp).json()["photos"]
    taken = dt.datetime.fromisoformat(staff[0]["captured_at"])
    assert taken == dt.datetime(2026, 11, 30, 9, 8, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    lon, lat = staff[0]["capture_location"]["coordinates"]
    assert abs(lon - GPS_LON) < 1e-5 and abs(lat - GPS_LAT) < 1e-5
    assert staff[0]["uploaded_by"] == "public" and staff[0]["original_format"] == "JPEG"
    assert staff[1]["capture_location"] is None
    assert [p["original_format"] for p in staff] == ["JPEG", "PNG", "WEBP"]
    # the public view lists the report photos without EXIF
    public = app.get(f"/api/v1/incidents/{doc['id']}").json()["photos"]
    assert [p["id"] for p in public] == [p["id"] for p in photos]
    assert all("capture_location" not in p for p in public)


def test_heic_from_an_iphone_is_accepted(app: TestClient, token_for: Any) -> None:
    r = app.post("/api/v1/incidents", **multipart(REPORT, (heic(), "image/heic")))
    assert r.status_code == 201, r.text
    admin = token_for("root", "admin")
    (photo,) = app.get(f"/api/v1/incidents/{r.json()['id']}", headers=admin).json()["photos"]
    assert photo["original_format"] == "HEIF" and (photo["width"], photo["height"]) == (400, 300)
    assert decoded(app.get(photo["url"]).content).format == "JPEG"


def test_same_picture_twice_shares_one_file(app: TestClient, world_db: str, photo_dir: Path):
    data = jpeg_with_gps()
    for _ in range(2):
        r = app.post("/api/v1/incidents", **multipart(REPORT, (data, "image/jpeg")))
        assert r.status_code == 201, r.text
    assert counts(world_db) == (2, 2, 1)
    assert len(stored_files(photo_dir)) == 2


@pytest.mark.parametrize(
    ("make", "ctype", "status", "code", "reason"),
    [
        (corrupt_jpeg, "image/jpeg", 422, "invalid_image", "corrupt"),
        (not_an_image, "image/jpeg", 422, "invalid_image", "not_an_image"),
        (png_bomb, "image/png", 422, "invalid_image", "too_many_pixels"),
        (jpeg_with_gps, "application/pdf", 415, "unsupported_media_type", None),
        (jpeg_with_gps, "text/html", 415, "unsupported_media_type", None),
        (oversized_png, "image/png", 413, "photo_too_large", None),
    ],
)
def test_a_refused_photo_stores_nothing_not_even_the_report(
    app: TestClient,
    world_db: str,
    photo_dir: Path,
    make: Any,
    ctype: str,
    status: int,
    code: str,
    reason: str | None,
) -> None:
    # a good photo first: it is processed, then the bad one refuses the whole request
    r = app.post(
        "/api/v1/incidents",
        **multipart(REPORT, (png(), "image/png"), (make(), ctype)),
        headers={"Idempotency-Key": f"refused-{code}"},
    )
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code and body["message"]
    if reason:
        assert body["details"]["reason"] == reason
    assert counts(world_db) == (0, 0, 0)
    assert stored_files(photo_dir) == []


def test_a_failure_after_files_are_written_removes_them(world_db: str, photo_dir: Path) -> None:
    """A report that fails after its photos' files were written (here: a constraint added for
    the test refuses the incident_photos row) leaves no file and no row."""
    with psycopg.connect(world_db, autocommit=True) as conn:  # make the photo rows fail
        conn.execute(
            "ALTER TABLE incident_photos ADD CONSTRAINT test_no_after CHECK (uploaded_by <> 'public')"
        )
    settings = settings_for(world_db)
    settings.photos.photo_dir = photo_dir
    with TestClient(create_app(settings), raise_server_exceptions=False) as app:
        r = app.post("/api/v1/incidents", **multipart(REPORT, (jpeg_with_gps(), "image/jpeg")))
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert counts(world_db) == (0, 0, 0)
    assert stored_files(photo_dir) == []


def test_limits_on_count_and_parts(app: TestClient, world_db: str, photo_dir: Path) -> None:
    small = png((64, 64))
    r = app.post("/api/v1/incidents", **multipart(REPORT, *[(small, "image/png")] * 10))
    assert r.status_code == 422 and "9 photos" in r.json()["error"]["message"]
    # no report part
    r = app.post("/api/v1/incidents", files=[("photo", ("a.png", small, "image/png"))])
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["field"] == "report"
    # a report part that is not valid JSON: the same 400 as a JSON body
    r = app.post(
        "/api/v1/incidents",
        data={"report": "{not json"},
        files=[("photo", ("a.png", small, "image/png"))],
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    # an invalid report: the same 422 as a JSON body
    bad = {**REPORT, "category": ""}
    r = app.post("/api/v1/incidents", **multipart(bad, (small, "image/png")))
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert counts(world_db) == (0, 0, 0) and stored_files(photo_dir) == []
    # the plain JSON body still works, and still refuses the same way
    assert app.post("/api/v1/incidents", json=REPORT).status_code == 201
    assert (
        app.post(
            "/api/v1/incidents", content=b"{oops", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_idempotency_key_covers_the_photos(app: TestClient, world_db: str, photo_dir: Path) -> None:
    one, two = png((100, 100)), webp((100, 100))
    key = {"Idempotency-Key": "photo-key-1"}
    first = app.post("/api/v1/incidents", **multipart(REPORT, (one, "image/png")), headers=key)
    assert first.status_code == 201
    replay = app.post("/api/v1/incidents", **multipart(REPORT, (one, "image/png")), headers=key)
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert [p["id"] for p in replay.json()["photos"]] == [p["id"] for p in first.json()["photos"]]
    other = app.post("/api/v1/incidents", **multipart(REPORT, (two, "image/webp")), headers=key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    # the same report without its photo is a different request too
    bare = app.post("/api/v1/incidents", json=REPORT, headers=key)
    assert bare.status_code == 409
    assert counts(world_db) == (1, 1, 1) and len(stored_files(photo_dir)) == 2


def test_body_limit_allows_photos_but_not_for_json(app: TestClient) -> None:
    big = json.dumps({**REPORT, "description": "x" * (5 * 1024 * 1024)})
    r = app.post("/api/v1/incidents", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    # 2 photos of 2.5 MB each (over the 4 MB JSON limit together) are fine in a multipart report
    files = [(oversized_png(int(2.5 * 1024 * 1024)), "image/png") for _ in range(2)]
    r = app.post("/api/v1/incidents", **multipart(REPORT, *files))
    assert r.status_code == 201, r.text
    assert len(r.json()["photos"]) == 2


def test_photos_never_in_lists_or_tiles(app: TestClient, token_for: Any) -> None:
    r = app.post("/api/v1/incidents", **multipart(REPORT, (png(), "image/png")))
    assert r.status_code == 201
    admin = token_for("root", "admin")
    listing = app.get("/api/v1/incidents", headers=admin).json()
    assert "photo" not in json.dumps(listing)
    items = app.get("/ogc/collections/incidents/items").json()
    assert "/api/v1/photos/" not in json.dumps(items)


def test_photos_check_finds_orphans_and_missing_files(
    app: TestClient, world_db: str, photo_dir: Path
) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from api.services.photos.store import FileStore

    r = app.post("/api/v1/incidents", **multipart(REPORT, (png(), "image/png")))
    assert r.status_code == 201
    store = FileStore(photo_dir)
    orphan = "ab" * 32  # as a crash between writing and committing would leave it
    store.put(orphan, "photo", b"x")
    store.put(orphan, "thumb", b"x")
    with psycopg.connect(world_db) as conn:
        (kept,) = conn.execute("SELECT sha256 FROM photo_files").fetchone() or ("",)
    env = {"GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_PHOTO_DIR": str(photo_dir)}
    runner = CliRunner()
    out = runner.invoke(cli, ["photos", "check", "--min-age-minutes", "0"], env=env)
    assert out.exit_code == 0, out.output
    assert "2 keys, 1 orphans, 0 rows with missing files" in out.output
    assert f"orphan: {orphan}" in out.output
    # a young file may be an upload in flight: not an orphan yet
    young = runner.invoke(cli, ["photos", "check"], env=env)
    assert "0 orphans" in young.output
    store.delete(kept, "thumb")
    out = runner.invoke(cli, ["photos", "check", "--min-age-minutes", "0", "--delete"], env=env)
    assert f"missing: {kept}" in out.output and "removed 1 orphans" in out.output
    assert not store.exists(orphan, "photo") and store.exists(kept, "photo")
