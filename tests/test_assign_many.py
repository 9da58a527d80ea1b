"""Set-based re-assignment (gis.assign_many): for every stored incident, the very Assignment that
gis.assign.assign_point gives its point, before and after a boundary change.

World (tests/world.py): C1 = [116.000, 116.050] × [39.00, 39.05], G1 = [116.000, 116.025],
G2 = [116.025, 116.049], community 2 without grids north of C1, district territory beyond.
"""

from __future__ import annotations

import json
import random

import psycopg
import pytest

from gis.assign import assign_point
from gis.assign_many import assign_incidents
from gis.errors import OutsideServiceArea
from tests.areas_util import G1, G2, etag, grid_feature

# Each rule of gis.assign, and the places between them.
PLACES = [
    (116.010, 39.020),  # inside G1
    (116.025, 39.020),  # on the G1/G2 edge: lowest code
    (116.02495, 39.020),  # 4 m from the edge: near_boundary lists G2
    (116.0249, 39.0305),  # inside building b2, surveyed into G2
    (116.0493, 39.020),  # gap east of G2, 26 m: nearest grid
    (116.0499, 39.020),  # 78 m: held by the community (outside)
    (116.010, 39.0502),  # community 2 without grids, near G1
    (116.080, 39.080),  # district territory outside any street
]


def compare(db) -> int:  # type: ignore[no-untyped-def]
    """assign_incidents over every incident == assign_point per incident; returns how many."""
    rows = db.execute(
        "SELECT id, category_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incidents"
    ).fetchall()
    many = assign_incidents(db, [r["id"] for r in rows], nearest_m=50.0, near_m=10.0)
    assert set(many) == {r["id"] for r in rows}
    for r in rows:
        try:
            one = assign_point(
                db, r["lon"], r["lat"], category=r["category_code"], nearest_m=50.0, near_m=10.0
            )
        except OutsideServiceArea:
            assert many[r["id"]] is None, r
            continue
        assert many[r["id"]] == one, r
        assert many[r["id"]].as_json(r["category_code"]) == one.as_json(r["category_code"])  # type: ignore[union-attr]
    return len(rows)


def test_many_equals_one_by_one_before_and_after_a_boundary_change(world, db, token_for):
    admin = token_for("boss", "admin")  # a token: no per-address limit
    rng = random.Random(7)
    points = PLACES + [
        (rng.uniform(115.995, 116.09), rng.uniform(38.995, 39.09)) for _ in range(60)
    ]
    for i, (lon, lat) in enumerate(points):
        category = "SJ0102" if i % 2 else "SJ01"
        r = world.post(
            "/api/v1/incidents",
            json={
                "category": category,
                "description": "test",
                "location": {"lon": lon, "lat": lat},
            },
            headers=admin,
        )
        assert r.status_code in (201, 422), r.text  # a random point may fall outside
    assert compare(db) >= len(PLACES)
    methods = {m["method"] for m in db.execute("SELECT DISTINCT method FROM incidents").fetchall()}
    assert methods == {"building", "inside", "nearest", "outside"}
    db.commit()

    # shrink G2 so part of it becomes a gap: nearest and outside change for its points
    r = world.put(
        f"/api/v1/areas/{G2}",
        json=grid_feature((116.025, 39.0, 116.040, 39.05)),
        headers={**admin, "If-Match": etag(world, G2)},
    )
    assert r.status_code == 200, r.text
    assert compare(db) >= len(PLACES)
    assert stored_as_reported(db) > 0


# What MOVE_SQL (api/services/boundaries/impact.py) writes for an incident it moves, built in SQL.
STORED_SQL = """
SELECT i.id, i.category_code, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.method, i.distance_m,
       i.building_id, i.grid_code, i.community_code, i.street_code, i.district_code,
       i.responsible_area_code, i.grid_version_id, i.community_version_id, i.street_version_id,
       i.district_version_id, i.department_code, i.rule_id, i.assignment
FROM incidents i
WHERE EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'reassign')
"""


def stored_as_reported(db) -> int:  # type: ignore[no-untyped-def]
    """Every re-assigned incident's stored assignment == what intake stores for a new report at
    its point (api/services/intake/report.py: Assignment.as_json and its columns); how many."""
    rows = db.execute(STORED_SQL).fetchall()
    for r in rows:
        one = assign_point(
            db, r["lon"], r["lat"], category=r["category_code"], nearest_m=50.0, near_m=10.0
        )
        answer = one.as_json(r["category_code"])
        expected = {
            "method": one.method,
            "building_id": one.building["id"] if one.building else None,
            "grid_code": one.code("grid"),
            "community_code": one.code("community"),
            "street_code": one.code("street"),
            "district_code": one.code("district"),
            "responsible_area_code": one.responsible_area_code,
            "grid_version_id": one.version_id("grid"),
            "community_version_id": one.version_id("community"),
            "street_version_id": one.version_id("street"),
            "district_version_id": one.version_id("district"),
            "department_code": answer["department"]["code"] if answer["department"] else None,
            "rule_id": answer["rule"]["id"] if answer["rule"] else None,
            "assignment": answer,
        }
        assert {k: r[k] for k in expected} == expected, r
        assert r["distance_m"] == pytest.approx(one.distance_m), r
    return len(rows)


def test_a_boundary_edit_moves_many_in_one_go_with_an_event_and_a_notify_each(
    world, db, world_db, token_for
):
    admin = token_for("boss", "admin")
    for k in range(6):  # in G2's west part, which G1 takes over below
        r = world.post(
            "/api/v1/incidents",
            json={
                "category": "SJ0102",
                "description": "test",
                "location": {"lon": 116.026 + k * 0.001, "lat": 39.01 + k * 0.002},
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
    with psycopg.connect(world_db, autocommit=True) as listener:
        listener.execute("LISTEN gridgov_incidents")
        r = world.put(
            f"/api/v1/areas/{G2}",
            json=grid_feature((116.035, 39.0, 116.049, 39.05)),
            headers={**admin, "If-Match": etag(world, G2)},
        )
        assert r.status_code == 200, r.text
        r = world.put(
            f"/api/v1/areas/{G1}",
            json=grid_feature((116.0, 39.0, 116.035, 39.05)),
            headers={**admin, "If-Match": etag(world, G1)},
        )
        assert r.status_code == 200, r.text
        heard = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=100)]
    moved = r.json()["impact"]["incidents"]
    assert len(moved) == 6 and {m["to"]["grid"] for m in moved} == {G1}
    events = db.execute(
        "SELECT e.id, i.public_id, e.data FROM incident_events e "
        "JOIN incidents i ON i.id = e.incident_id "
        "WHERE e.action = 'reassign' AND e.data -> 'to' ->> 'grid' = %s ORDER BY e.id",
        (G1,),
    ).fetchall()
    assert [e["public_id"] for e in events] == [m["id"] for m in moved]
    assert all(e["data"]["reason"] == "boundary_change" for e in events)
    last = [h for h in heard if h["action"] == "reassign"][-6:]
    assert [(h["event_id"], h["incident"]) for h in last] == [
        (e["id"], e["public_id"]) for e in events
    ]
    rows = db.execute(
        "SELECT grid_code, department_code, grid_version_id FROM incidents "
        "WHERE public_id = ANY(%s)",
        ([m["id"] for m in moved],),
    ).fetchall()
    g1_version = db.execute(
        "SELECT id FROM areas WHERE code = %s AND valid_to IS NULL", (G1,)
    ).fetchone()["id"]
    assert (
        rows
        == [{"grid_code": G1, "department_code": "CITYMGMT-001", "grid_version_id": g1_version}] * 6
    )
