"""Photos along the loop: who may add which stage when, photo_ids in actions, require_photos,
hiding a photo, and who sees which photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import psycopg.rows
import pytest
from fastapi.testclient import TestClient

from tests.loop import Cast, act, advance_to, get, make_cast, ok, report
from tests.photo_util import (  # noqa: F401  (fixtures)
    jpeg_with_gps,
    photo_app_fixture,
    photo_dir_fixture,
    png,
    stored_files,
    webp,
)


@pytest.fixture
def cast(token_for: Any) -> Cast:
    return make_cast(token_for)


def upload(
    app: TestClient, incident: str, headers: dict[str, str], stage: str, data: bytes | None = None
) -> Any:
    return app.post(
        f"/api/v1/incidents/{incident}/photos",
        data={"stage": stage},
        files=[("photo", ("x.jpg", data or png((200, 150)), "image/png"))],
        headers=headers,
    )


def added(app: TestClient, incident: str, headers: dict[str, str], stage: str) -> int:
    r = upload(app, incident, headers, stage)
    assert r.status_code == 201, r.text
    (photo,) = r.json()["photos"]
    assert photo["stage"] == stage
    return int(photo["id"])


def test_stage_rules_per_role(app: TestClient, cast: Cast, world_db: str) -> None:
    inc = report(app, headers=cast.resident)
    # reported: the reporter may add report and info photos; nobody else may
    added(app, inc, cast.resident, "report")
    added(app, inc, cast.resident, "info")
    r = upload(app, inc, cast.neighbour, "info")
    assert r.status_code == 403 and r.json()["error"]["details"]["needed"] == ["reporter"]
    r = upload(app, inc, cast.dept, "before")  # routed to them, but not dispatched yet
    assert r.status_code == 409
    r = upload(app, inc, cast.water, "before")  # another department
    assert r.status_code == 403
    r = upload(app, inc, cast.other_officer, "verify")
    assert r.status_code == 403
    # the lead department: before once dispatched, after while working
    advance_to(app, cast, inc, "dispatched")
    r = upload(app, inc, cast.dept, "after")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    added(app, inc, cast.dept, "before")
    r = upload(app, inc, cast.water, "before")  # another department
    assert r.status_code == 403
    r = upload(app, inc, cast.resident, "report")  # registered now: too late for report photos
    assert r.status_code == 409
    ok(app, inc, cast.dept, "accept")
    added(app, inc, cast.dept, "after")
    r = upload(app, inc, cast.officer, "verify")  # not handled yet
    assert r.status_code == 409
    ok(app, inc, cast.dept, "handle", note="清运完毕")
    added(app, inc, cast.officer, "verify")
    added(app, inc, cast.admin, "verify")  # admins hold every capacity
    ok(app, inc, cast.officer, "verify", data={"passed": True})
    r = upload(app, inc, cast.resident, "info")  # closed: nothing more
    assert r.status_code == 409
    # anonymous callers cannot upload; a bad stage is refused; a JSON body is not a photo
    assert upload(app, inc, {}, "info").status_code == 401
    assert upload(app, inc, cast.admin, "selfie").status_code == 422
    r = app.post(f"/api/v1/incidents/{inc}/photos", json={"stage": "info"}, headers=cast.admin)
    assert r.status_code == 415
    assert upload(app, "20990101-999999", cast.admin, "info").status_code == 404
    with psycopg.connect(world_db) as conn:
        stages = conn.execute(
            "SELECT stage, uploaded_by FROM incident_photos ORDER BY id"
        ).fetchall()
    assert stages == [
        ("report", "res"),
        ("info", "res"),
        ("before", "cm"),
        ("after", "cm"),
        ("verify", "off"),
        ("verify", "root"),
    ]


def test_a_refused_upload_leaves_nothing(
    app: TestClient, cast: Cast, world_db: str, photo_dir: Path
) -> None:
    inc = report(app, headers=cast.resident)
    r = app.post(
        f"/api/v1/incidents/{inc}/photos",
        data={"stage": "info"},
        files=[
            ("photo", ("a.png", png(), "image/png")),
            ("photo", ("b.jpg", b"GIF89a not a jpeg", "image/jpeg")),
        ],
        headers=cast.resident,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"
    r = upload(app, inc, cast.neighbour, "info", jpeg_with_gps())  # refused by role
    assert r.status_code == 403
    with psycopg.connect(world_db) as conn:
        assert conn.execute("SELECT count(*) FROM photo_files").fetchone() == (0,)
    assert stored_files(photo_dir) == []


def test_photo_ids_in_actions_and_require_photos(
    app: TestClient, cast: Cast, world_db: str
) -> None:
    with psycopg.connect(world_db) as conn:
        conn.execute("UPDATE categories SET require_photos = true WHERE code = 'SJ01'")
    inc = report(app, headers=cast.resident)
    info = added(app, inc, cast.resident, "info")
    advance_to(app, cast, inc, "in_progress")
    before = added(app, inc, cast.dept, "before")
    # the category (through its major class SJ01) needs an after photo to handle
    r = act(app, inc, cast.dept, "handle", note="清运完毕", data={"photo_ids": [before]})
    assert r.status_code == 422 and "'after' photo" in r.json()["error"]["message"]
    after = added(app, inc, cast.dept, "after")
    # photo_ids must be this incident's photos of a fitting stage
    r = act(app, inc, cast.dept, "handle", note="完毕", data={"photo_ids": [info]})
    assert r.status_code == 422 and "'info' photo" in r.json()["error"]["message"]
    r = act(app, inc, cast.dept, "handle", note="完毕", data={"photo_ids": [after, 999999]})
    assert r.status_code == 422
    r = act(app, inc, cast.dept, "handle", note="完毕", data={"photo_ids": "1"})
    assert r.status_code == 422
    doc = ok(app, inc, cast.dept, "handle", note="清运完毕", data={"photo_ids": [before, after]})
    assert doc["events"][-1]["data"] == {"photo_ids": [before, after]}
    # rework: the next handle needs a new after photo from the new round
    verify = added(app, inc, cast.officer, "verify")
    ok(app, inc, cast.officer, "verify", data={"passed": False, "photo_ids": [verify]})
    r = act(app, inc, cast.dept, "handle", note="再次清运")
    assert r.status_code == 422
    added(app, inc, cast.dept, "after")
    ok(app, inc, cast.dept, "handle", note="再次清运")
    # other categories do not need photos
    other = report(app, headers=cast.resident, lon=116.011)
    with psycopg.connect(world_db) as conn:
        conn.execute("UPDATE categories SET require_photos = false WHERE code = 'SJ01'")
    advance_to(app, cast, other, "handled")


def test_who_sees_which_photo_and_hiding(app: TestClient, cast: Cast) -> None:
    inc = report(app, headers=cast.resident)
    rep = added(app, inc, cast.resident, "report")
    info = added(app, inc, cast.resident, "info")
    advance_to(app, cast, inc, "in_progress")
    before = added(app, inc, cast.dept, "before")
    after = added(app, inc, cast.dept, "after")

    def seen(headers: dict[str, str]) -> list[int]:
        return [p["id"] for p in get(app, inc, headers)["photos"]]

    assert seen({}) == [rep, after]  # the public: report and after photos

    def ogc_links() -> list[str]:
        doc = app.get(f"/ogc/collections/incidents/items/{inc}").json()
        return [x["href"] for x in doc["links"] if x["rel"] == "enclosure"]

    assert ogc_links() == [f"http://testserver/api/v1/photos/{i}" for i in (rep, after)]
    assert seen(cast.neighbour) == [rep, after]
    assert seen(cast.resident) == [rep, info, after]  # the reporter: also their own
    assert seen(cast.disp) == [rep, info, before, after]  # staff in scope: all
    assert seen(cast.other_disp) == [rep, after]  # staff out of scope: the public view
    for pid, public in ((rep, True), (info, False), (before, False), (after, True)):
        assert app.get(f"/api/v1/photos/{pid}").status_code == (200 if public else 404)
        assert app.get(f"/api/v1/photos/{pid}/thumb").status_code == (200 if public else 404)
        assert app.get(f"/api/v1/photos/{pid}", headers=cast.dept).status_code == 200
    assert app.get(f"/api/v1/photos/{info}", headers=cast.resident).status_code == 200
    assert app.get(f"/api/v1/photos/{info}", headers=cast.neighbour).status_code == 404
    assert app.get("/api/v1/photos/999999").status_code == 404

    # hiding: a dispatcher or the officer, with a reason; an event in the log
    r = app.post(f"/api/v1/photos/{rep}/hide", json={"reason": "拍到路人面部"}, headers=cast.dept)
    assert r.status_code == 403
    r = app.post(f"/api/v1/photos/{rep}/hide", json={"reason": ""}, headers=cast.disp)
    assert r.status_code == 422
    r = app.post(
        f"/api/v1/photos/{rep}/hide", json={"reason": "拍到路人面部"}, headers=cast.other_disp
    )
    assert r.status_code == 404
    r = app.post(f"/api/v1/photos/{rep}/hide", json={"reason": "拍到路人面部"}, headers=cast.disp)
    assert r.status_code == 200, r.text
    hidden = next(p for p in r.json()["photos"] if p["id"] == rep)
    assert hidden["hidden"] and hidden["hidden_reason"] == "拍到路人面部"
    assert hidden["hidden_by"] == "disp"
    r = app.post(f"/api/v1/photos/{rep}/hide", json={"reason": "again"}, headers=cast.disp)
    assert r.status_code == 409
    assert seen({}) == [after]
    assert ogc_links() == [f"http://testserver/api/v1/photos/{after}"]
    assert app.get(f"/api/v1/photos/{rep}").status_code == 404
    assert app.get(f"/api/v1/photos/{rep}", headers=cast.disp).status_code == 200
    event = get(app, inc, cast.disp)["events"][-1]
    assert (event["action"], event["note"], event["data"]) == (
        "hide_photo",
        "拍到路人面部",
        {"photo_id": rep, "stage": "report"},
    )
    assert event["from_status"] == event["to_status"] == "in_progress"
    # a hidden photo cannot be named by an action
    r = act(app, inc, cast.dept, "handle", note="完毕", data={"photo_ids": [rep]})
    assert r.status_code == 422


def test_webp_and_exif_on_stage_upload(app: TestClient, cast: Cast) -> None:
    inc = report(app, headers=cast.resident)
    advance_to(app, cast, inc, "handled")
    r = app.post(
        f"/api/v1/incidents/{inc}/photos",
        data={"stage": "verify"},
        files=[
            ("photo", ("a.jpg", jpeg_with_gps(), "image/jpeg")),
            ("photo", ("b.webp", webp(), "image/webp")),
        ],
        headers=cast.officer,
    )
    assert r.status_code == 201, r.text
    first, second = r.json()["photos"]
    assert first["capture_location"]["type"] == "Point" and second["capture_location"] is None
    assert first["uploaded_by"] == "off" and second["original_format"] == "WEBP"


def test_require_photos_comes_from_the_configuration(world_db: str, tmp_path: Path) -> None:
    from api.services.intake.config_import import import_config

    path = tmp_path / "config.yaml"
    path.write_text(
        "categories:\n"
        "  - {code: SJ0103, name: 乱堆物料, parent: SJ01, kind: event, require_photos: true}\n",
        encoding="utf-8",
    )
    with psycopg.connect(world_db, row_factory=psycopg.rows.dict_row) as conn:
        import_config(conn, path)
        row = conn.execute(
            "SELECT code, require_photos FROM categories WHERE code IN ('SJ0102', 'SJ0103') "
            "ORDER BY code"
        ).fetchall()
    assert row == [
        {"code": "SJ0102", "require_photos": False},
        {"code": "SJ0103", "require_photos": True},
    ]
