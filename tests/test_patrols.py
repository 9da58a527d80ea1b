"""大联勤 patrols through HTTP: batches out of order, duplicates, flagged noise, privacy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.loop import make_cast
from tests.patrol_util import LAT_M, fix, send, start, walk


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)


def counts(db: Any) -> int:
    return int(db.execute("SELECT count(*) AS n FROM patrol_fixes").fetchone()["n"])


def test_patrol_out_of_order_duplicates_jump_and_outside(
    world: Any, token_for: Any, db: Any
) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer, client_id="phone-1", members=["cm"])
    again = world.post("/api/v1/patrols", json={"client_id": "phone-1"}, headers=cast.officer)
    assert again.status_code == 200 and again.json()["id"] == p["id"]
    t0 = now()
    fixes = walk(t0, 30)  # 290 s, 29 × 14 m = 406 m
    # the later half first, then the earlier half: the track is the same
    r = send(world, p["id"], cast.officer, fixes[15:])
    assert r.status_code == 200 and r.json()["stored"] == 15, r.text
    r = send(world, p["id"], cast.officer, fixes[:15])
    assert r.json()["stored"] == 15 and r.json()["flagged"]["jump"] == []
    # the same batch again: nothing new
    r = send(world, p["id"], cast.officer, fixes[:15])
    assert r.status_code == 200 and r.json() | {"flagged": None} == {
        "patrol": p["id"],
        "received": 15,
        "stored": 0,
        "duplicates": 15,
        "flagged": None,
    }
    doc = world.get(f"/api/v1/patrols/{p['id']}", headers=cast.officer).json()
    assert doc["fixes"] == 30 and doc["distance_m"] == pytest.approx(29 * 14.0, rel=0.01)
    assert doc["seconds"] == 290.0
    # a fix 10 s later but 556 m away (200 km/h) is flagged and left out of the distance
    jump_t = t0 + dt.timedelta(seconds=300)
    far = fix("jump", jump_t, 116.010, 39.010 + (29 * 14 + 556) * LAT_M, accuracy=5.0)
    # a fix outside every area (but plausible in speed relative to nothing: alone after a gap)
    outside = fix("out", t0 + dt.timedelta(hours=0.5), 115.99, 39.01, accuracy=5.0)
    noisy = fix("noisy", t0 + dt.timedelta(seconds=305), 116.011, 39.011, accuracy=500.0)
    r = send(world, p["id"], cast.officer, [outside, noisy, far])
    assert r.status_code == 200, r.text
    assert r.json()["flagged"] == {"inaccurate": ["noisy"], "jump": ["jump"], "outside": ["out"]}
    doc = world.get(f"/api/v1/patrols/{p['id']}", headers=cast.officer).json()
    assert doc["fixes"] == 33 and doc["flagged"] == {"inaccurate": 1, "jump": 1, "outside": 1}
    assert doc["distance_m"] == pytest.approx(29 * 14.0, rel=0.01)
    # the next walking fix after the jump continues the track from the last clean fix
    nxt = walk(t0 + dt.timedelta(seconds=310), 1, lat=39.010 + 30 * 14 * LAT_M)[0] | {"id": "n"}
    r = send(world, p["id"], cast.officer, [nxt])
    assert r.json()["flagged"]["jump"] == []
    rows = db.execute(
        "SELECT client_id, jump, outside, grid_code FROM patrol_fixes WHERE client_id IN "
        "('jump', 'out', 'p0') ORDER BY client_id"
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == [
        ("jump", True, False, "110199001001001"),
        ("out", False, True, None),
        ("p0", False, False, "110199001001001"),
    ]
    # the member confirms; ending twice is fine; fixes after the end are refused
    assert world.post(f"/api/v1/patrols/{p['id']}/join", headers=cast.dept).status_code == 200
    assert world.post(f"/api/v1/patrols/{p['id']}/end", headers=cast.officer).status_code == 200
    assert world.post(f"/api/v1/patrols/{p['id']}/end", headers=cast.officer).status_code == 200
    before = counts(db)
    late = walk(dt.datetime.now(dt.UTC), 1)[0] | {"id": "late"}
    r = send(world, p["id"], cast.officer, [late])
    assert r.status_code == 409 and counts(db) == before


def test_bad_batches_write_nothing(world: Any, token_for: Any, db: Any) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer)
    good = walk(now(), 2)
    future = walk(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), 1)[0] | {"id": "f"}
    for body, status in (
        ([*good, future], 422),
        ([good[0] | {"lat": 95}], 422),
        ([good[0] | {"t": "2026-01-01T10:00:00"}], 422),  # no time zone
        ([], 422),
    ):
        r = send(world, p["id"], cast.officer, body)
        assert r.status_code == status, r.text
        assert r.json()["error"]["message"]
    assert counts(db) == 0
    # the caller is refused before the body is looked at: 401 for no or an unknown token
    for headers in ({}, {"Authorization": "Bearer ggt_unknown"}):
        assert send(world, p["id"], headers, [good[0] | {"lat": 95}]).status_code == 401
    # a refused body gives the connection back (the test pool holds 4): the next batch is stored
    for _ in range(6):
        assert send(world, p["id"], cast.officer, [good[0] | {"lat": 95}]).status_code == 422
    assert send(world, p["id"], cast.officer, good).json()["stored"] == 2
    # another officer may not send positions into this patrol
    other = walk(now() + dt.timedelta(minutes=1), 2)
    r = send(world, p["id"], cast.other_officer, other)
    assert r.status_code == 403 and counts(db) == 2
    # residents and dispatchers do not start patrols
    for who in (cast.resident, cast.disp):
        assert world.post("/api/v1/patrols", json={}, headers=who).status_code == 403
    assert world.post("/api/v1/patrols", json={}).status_code == 401


ROLES = {
    # role → (header attribute, sees the document, sees positions)
    "admin": ("admin", True, True),
    "dispatcher-in": ("disp", True, True),
    "dispatcher-out": ("other_disp", False, False),
    "leader": ("officer", True, False),
    "member": ("dept", True, False),
    "other-officer": ("other_officer", False, False),
    "department-out": ("water", False, False),
    "resident": ("resident", False, False),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_positions_per_role(world: Any, token_for: Any, role: str) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer, members=["cm"])
    assert send(world, p["id"], cast.officer, walk(now(), 3)).status_code == 200
    attr, sees_doc, sees_positions = ROLES[role]
    h = getattr(cast, attr)
    r = world.get(f"/api/v1/patrols/{p['id']}", headers=h)
    assert r.status_code == (200 if sees_doc else 403), r.text
    r = world.get(f"/api/v1/patrols/{p['id']}/track", headers=h)
    assert r.status_code == (200 if sees_positions else 403), r.text
    if sees_positions:
        assert len(r.json()["features"]) == 3
    r = world.get("/api/v1/patrols", headers=h)
    if role == "resident":
        assert r.status_code == 403
        return
    listed = r.json()["patrols"]
    assert [x["id"] for x in listed] == ([p["id"]] if sees_doc else [])
    assert all(("last" in x) == sees_positions for x in listed)
    assert "lat" not in r.text or sees_positions


def test_never_in_public_feeds(world: Any, token_for: Any) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer)
    send(world, p["id"], cast.officer, walk(now(), 3))
    collections = world.get("/ogc/collections").json()["collections"]
    assert not [c for c in collections if "patrol" in c["id"]]
    assert world.get("/tiles/patrols.json").status_code == 404
    assert world.get("/ogc/collections/patrols/items").status_code == 404


def test_report_found_on_the_way(world: Any, token_for: Any, db: Any) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer, members=["cm"])
    body = {
        "category": "SJ0102",
        "description": "巡查发现暴露垃圾",
        "source": "patrol",
        "patrol": p["id"],
        "location": {"lon": 116.01, "lat": 39.02},
    }
    # a member who has not confirmed, a wrong source and a stranger are refused, nothing stored
    before = db.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"]
    assert world.post("/api/v1/incidents", json=body, headers=cast.dept).status_code == 403
    r = world.post("/api/v1/incidents", json=body | {"source": "officer"}, headers=cast.officer)
    assert r.status_code == 422
    assert world.post("/api/v1/incidents", json=body, headers=cast.water).status_code == 403
    assert db.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"] == before
    r = world.post("/api/v1/incidents", json=body, headers=cast.officer)
    assert r.status_code == 201, r.text
    doc = world.get(f"/api/v1/patrols/{p['id']}", headers=cast.officer).json()
    assert doc["reports"] == [r.json()["id"]]
    src = db.execute("SELECT source FROM incidents WHERE public_id = %s", (r.json()["id"],))
    assert src.fetchone()["source"] == "patrol"
