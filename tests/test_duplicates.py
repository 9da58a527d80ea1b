"""Likely duplicates on report, and rejecting one as a duplicate that the reporter can follow."""

from __future__ import annotations

import datetime as dt

from pyproj import Geod

from tests.loop import SH, advance_to, get, ok

T0 = dt.datetime(2025, 11, 3, 10, 0, tzinfo=SH)
HERE = {"lon": 116.010, "lat": 39.020}


def north(metres: float) -> dict[str, float]:
    """The point `metres` north of HERE on the WGS 84 ellipsoid (negative: south)."""
    lon, lat, _ = Geod(ellps="WGS84").fwd(
        HERE["lon"], HERE["lat"], 0 if metres >= 0 else 180, abs(metres)
    )
    return {"lon": lon, "lat": lat}


def post(world, category, where, headers=None):
    body = {"category": category, "description": "路边暴露垃圾", "location": where}
    r = world.post("/api/v1/incidents", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return r.json()


def distance(db, a, b):
    """The spheroid distance PostGIS gives between two stored incidents, to 0.1 m."""
    return float(
        db.execute(
            "SELECT round(ST_Distance(x.geom::geography, y.geom::geography)::numeric, 1) AS d "
            "FROM incidents x, incidents y WHERE x.public_id = %s AND y.public_id = %s",
            (a, b),
        ).fetchone()["d"]
    )


def test_open_same_category_within_50_m_and_72_h_is_suggested(world, cast, clock, db):
    old = post(world, "SJ0102", north(30), cast.resident)["id"]  # 73 h before the new report
    clock.advance(hours=1)
    far = post(world, "SJ0102", north(60))["id"]  # 60 m away
    other = post(world, "BJ0101", HERE)["id"]  # another category
    closed = post(world, "SJ0102", HERE)["id"]
    ok(world, closed, cast.officer, "self_handle", note="已清理")
    ok(world, closed, cast.officer, "verify", data={"passed": True})
    near = post(world, "SJ0102", north(20))["id"]
    nearest = post(world, "SJ0102", north(-5))["id"]
    clock.advance(hours=72)

    doc = post(world, "SJ0102", HERE, cast.neighbour)
    assert doc["status"] == "reported"
    assert doc["possible_duplicates"] == [
        {
            "id": nearest,
            "status": "reported",
            "distance_m": distance(db, doc["id"], nearest),
            "age_hours": 72.0,
            "reported_at": "2025-11-03T03:00:00+00:00",
        },
        {
            "id": near,
            "status": "reported",
            "distance_m": distance(db, doc["id"], near),
            "age_hours": 72.0,
            "reported_at": "2025-11-03T03:00:00+00:00",
        },
    ]
    assert [d["distance_m"] for d in doc["possible_duplicates"]] == [5.0, 20.0]
    assert {old, far, other, closed}.isdisjoint(d["id"] for d in doc["possible_duplicates"])
    assert distance(db, doc["id"], far) == 60.0

    # a wider radius (GRIDGOV_DUPLICATE_RADIUS_M) and a longer window bring the others in
    world.app.state.settings.early_warning.duplicate_radius_m = 100
    world.app.state.settings.early_warning.duplicate_hours = 80
    again = post(world, "SJ0102", HERE)
    assert [d["id"] for d in again["possible_duplicates"]] == [doc["id"], nearest, near, old, far]


def test_nothing_close_means_an_empty_list(world, clock):
    assert post(world, "SJ0102", HERE)["possible_duplicates"] == []
    # a report in street 乙, far away
    assert post(world, "SJ0102", {"lon": 116.07, "lat": 39.02})["possible_duplicates"] == []


def test_reject_as_duplicate_links_both_and_the_reporter_follows_the_original(world, cast, clock):
    original = post(world, "SJ0102", HERE, cast.neighbour)["id"]
    advance_to(world, cast, original, "dispatched")
    clock.advance(minutes=30)
    new = post(world, "SJ0102", north(10), cast.resident)
    assert [d["id"] for d in new["possible_duplicates"]] == [original]
    assert new["possible_duplicates"][0]["status"] == "dispatched"
    assert new["possible_duplicates"][0]["age_hours"] == 0.5

    # the dispatcher sees the same suggestions on the case
    url = f"/api/v1/incidents/{new['id']}/possible-duplicates"
    seen = world.get(url, headers=cast.disp)
    assert seen.status_code == 200
    assert seen.json() == {"id": new["id"], "possible_duplicates": new["possible_duplicates"]}
    assert world.get(url, headers=cast.resident).status_code == 403
    assert world.get(url, headers=cast.other_disp).status_code == 404  # not in street 乙
    assert world.get(url).status_code == 401

    doc = ok(
        world,
        new["id"],
        cast.disp,
        "reject",
        data={"reason": "duplicate", "duplicate_of": original},
    )
    assert doc["status"] == "rejected"
    assert doc["duplicate_of"] == {"id": original, "status": "dispatched"}
    # the reporter, and anyone with the id, sees the link and can open the original
    for who in (cast.resident, None):
        view = get(world, new["id"], who)
        assert view["duplicate_of"] == {"id": original, "status": "dispatched"}
    followed = get(world, original, cast.resident)
    assert followed["status"] == "dispatched"
    assert followed["duplicates"] == [new["id"]] and followed["duplicate_of"] is None
    assert "reporter" not in followed  # the original's reporter stays private

    # a plain (non-duplicate) rejection links nothing; a duplicate of an unknown id is refused
    third = post(world, "SJ0102", north(12))["id"]
    assert ok(world, third, cast.disp, "reject", data={"reason": "invalid"})["duplicate_of"] is None
    fourth = post(world, "SJ0102", north(14))["id"]
    r = world.post(
        f"/api/v1/incidents/{fourth}/actions",
        json={
            "action": "reject",
            "data": {"reason": "duplicate", "duplicate_of": "20251103-999999"},
        },
        headers=cast.disp,
    )
    assert r.status_code == 422
    assert get(world, original)["duplicates"] == [new["id"]]
