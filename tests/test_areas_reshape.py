"""Split, merge, retire and preview areas; open incidents re-assigned, closed ones left alone.

World (tests/world.py): C1 = [116.000, 116.050] × [39.00, 39.05], G1 = [116.000, 116.025],
G2 = [116.025, 116.049]; building b1 in G1, b2 (surveyed into G2) astride their edge.
"""

from __future__ import annotations

from shapely.geometry import box

from tests.areas_util import (
    C1,
    G1,
    G2,
    assert_shape,
    etag,
    grid_feature,
    poly,
    read,
    reshape,
    versions,
)

D, S1, S2 = "110199", "110199001", "110199002"


def report(client, lon, lat, category="SJ0102"):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/incidents",
        json={"category": category, "description": "test", "location": {"lon": lon, "lat": lat}},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def close(db, public_id):  # type: ignore[no-untyped-def]
    """Close an incident the way the workflow would record it (status + event)."""
    db.execute(
        "INSERT INTO incident_events (incident_id, actor, action, from_status, to_status) "
        "SELECT id, 'test', 'close', status, 'closed' FROM incidents WHERE public_id = %s",
        (public_id,),
    )
    db.execute(
        "UPDATE incidents SET status = 'closed', closed_at = now() WHERE public_id = %s",
        (public_id,),
    )
    db.commit()


def incident(db, public_id):  # type: ignore[no-untyped-def]
    (row,) = read(
        db,
        "SELECT grid_code, community_code, responsible_area_code, department_code, method, "
        "grid_version_id FROM incidents WHERE public_id = %s",
        public_id,
    )
    return row


def events(db, public_id):  # type: ignore[no-untyped-def]
    return read(
        db,
        "SELECT e.action, e.actor, e.note, e.data, e.from_status, e.to_status FROM incident_events e "
        "JOIN incidents i ON i.id = e.incident_id WHERE i.public_id = %s ORDER BY e.id",
        public_id,
    )


def building_grids(db):  # type: ignore[no-untyped-def]
    rows = read(db, "SELECT source_id, grid_code FROM buildings ORDER BY source_id")
    return {r["source_id"]: r["grid_code"] for r in rows}


def shrink_g1(client, headers, path="", x1=116.02):  # type: ignore[no-untyped-def]
    return client.request(
        "PUT" if not path else "POST",
        f"/api/v1/areas/{G1}{path}",
        json={"type": "Feature", "geometry": poly(116.0, 39.0, x1, 39.05), "properties": {}},
        headers={**headers, "If-Match": etag(client, G1)},
    )


def test_split_along_a_line_and_the_new_shared_edge(world, db, admin):
    v1 = etag(world, G1)
    line = {"type": "LineString", "coordinates": [[116.0125, 38.99], [116.0125, 39.06]]}
    r = world.post(
        f"/api/v1/areas/{G1}/split",
        json={"type": "Feature", "geometry": line, "properties": {"names": ["西网格", "东网格"]}},
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    west, east = C1 + "003", C1 + "004"  # 001 and 002 were used: codes are never reused
    assert body["type"] == "FeatureCollection" and body["retired"] == [G1]
    assert [f["id"] for f in body["features"]] == [west, east]
    assert [f["properties"]["name"] for f in body["features"]] == ["西网格", "东网格"]
    assert body["features"][0]["properties"]["note"] == f"split from {G1}"
    assert_shape(body["features"][0]["geometry"], box(116.0, 39.0, 116.0125, 39.05))
    assert_shape(body["features"][1]["geometry"], box(116.0125, 39.0, 116.025, 39.05))
    assert world.get(f"/api/v1/areas/{G1}").status_code == 404
    hist = world.get(f"/api/v1/areas/{G1}/history").json()["features"]
    assert len(hist) == 1 and hist[0]["properties"]["valid_to"] is not None
    # a point on the new shared edge goes to the lowest code, every time
    for _ in range(3):
        a = world.get("/api/v1/locate", params={"lon": 116.0125, "lat": 39.02}).json()["assignment"]
        assert a["grid"]["code"] == west
        assert [n["code"] for n in a["near_boundary"]] == [east]
    assert building_grids(db) == {"b1": east, "b2": G2}


def test_split_refusals(world, db, admin):
    v1 = etag(world, G1)
    inside = {"type": "LineString", "coordinates": [[116.01, 39.01], [116.02, 39.02]]}
    r = world.post(
        f"/api/v1/areas/{G1}/split",
        json={"type": "Feature", "geometry": inside},
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_geometry"
    across = {"type": "LineString", "coordinates": [[116.0125, 38.99], [116.0125, 39.06]]}
    r = world.post(
        f"/api/v1/areas/{G1}/split", json={"type": "Feature", "geometry": across}, headers=admin
    )
    assert r.status_code == 428
    r = world.post(
        f"/api/v1/areas/{G1}/split",
        json={"type": "Feature", "geometry": across, "properties": {"names": ["one"]}},
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    r = world.post(
        f"/api/v1/areas/{C1}/split",
        json={"type": "Feature", "geometry": across},
        headers={**admin, "If-Match": etag(world, C1)},
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["children"] == [G1, G2]
    assert versions(db) == 8


def test_merge_adjacent_siblings(world, db, admin):
    tags = f"{etag(world, G1)}, {etag(world, G2)}"
    r = world.post(
        "/api/v1/areas/merge",
        json={"codes": [G1, G2], "name": "合并网格", "note": "人员调整"},
        headers={**admin, "If-Match": tags},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    merged = C1 + "003"
    assert body["retired"] == [G1, G2] and [f["id"] for f in body["features"]] == [merged]
    props = body["features"][0]["properties"]
    assert (props["name"], props["note"], props["created_by"]) == ("合并网格", "人员调整", "boss")
    assert r.headers["etag"] == f'"{props["version_id"]}"'
    assert_shape(body["features"][0]["geometry"], box(116.0, 39.0, 116.049, 39.05))
    assert [w["properties"]["codes"] for w in body["warnings"]["features"]] == [[C1, merged]]
    assert building_grids(db) == {"b1": merged, "b2": merged}
    for code in (G1, G2):
        assert world.get(f"/api/v1/areas/{code}").status_code == 404


def test_merge_versions_in_body_and_refusals(world, db, admin):
    r = world.post("/api/v1/areas/merge", json={"codes": [G1, G2]}, headers=admin)
    assert r.status_code == 428
    stale = world.post(
        "/api/v1/areas/merge",
        json={"codes": [G1, G2], "versions": {G1: 1, G2: 999}},
        headers=admin,
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["details"]["stale_codes"] == [G1, G2]
    r = world.post(
        "/api/v1/areas/merge",
        json={"codes": [C1, G1]},
        headers={**admin, "If-Match": f"{etag(world, C1)}, {etag(world, G1)}"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    strip = world.post(
        "/api/v1/areas", json=grid_feature((116.049, 39.0, 116.05, 39.05)), headers=admin
    )
    g3 = strip.json()["id"]
    r = world.post(
        "/api/v1/areas/merge",
        json={"codes": [G1, g3]},
        headers={**admin, "If-Match": f"{etag(world, G1)}, {etag(world, g3)}"},
    )
    assert r.status_code == 422 and "不相邻" in r.json()["error"]["message"]
    ok = world.post(
        "/api/v1/areas/merge",
        json={
            "codes": [G2, g3],
            "versions": {G2: int(etag(world, G2).strip('"')), g3: int(etag(world, g3).strip('"'))},
        },
        headers=admin,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["warnings"]["features"] == []


def test_retire_refuses_children_and_open_incidents(world, db, admin):
    assert world.delete(f"/api/v1/areas/{G2}", headers=admin).status_code == 428
    r = world.delete(f"/api/v1/areas/{C1}", headers={**admin, "If-Match": etag(world, C1)})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "area_in_use"
    assert r.json()["error"]["details"] == {"children": [G1, G2]}
    case = report(world, 116.03, 39.02)
    r = world.delete(f"/api/v1/areas/{G2}", headers={**admin, "If-Match": etag(world, G2)})
    assert r.status_code == 409 and r.json()["error"]["details"] == {"incidents": [case]}
    close(db, case)
    r = world.delete(f"/api/v1/areas/{G2}", headers={**admin, "If-Match": etag(world, G2)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["properties"]["valid_to"] is not None
    assert body["impact"]["buildings"] == [{"id": 2, "name": "跨界楼", "from": G2, "to": None}]
    assert world.get(f"/api/v1/areas/{G2}").status_code == 404
    assert incident(db, case)["grid_code"] == G2  # closed: keeps its history
    a = world.get("/api/v1/locate", params={"lon": 116.03, "lat": 39.02}).json()["assignment"]
    assert (a["method"], a["grid"], a["responsible_area"]) == ("outside", None, C1)


def test_preview_shows_impact_and_stores_nothing(world, db, admin):
    open_case, closed_case = report(world, 116.022, 39.02), report(world, 116.0221, 39.02)
    close(db, closed_case)
    before = incident(db, open_case)
    r = shrink_g1(world, admin, "/preview")
    assert r.status_code == 200, r.text
    impact = r.json()["impact"]
    assert [i["id"] for i in impact["incidents"]] == [open_case]
    moved = impact["incidents"][0]
    assert (moved["from"]["grid"], moved["to"]["grid"]) == (G1, None)
    assert (moved["to"]["responsible_area"], moved["to"]["department"]) == (C1, "CITYMGMT-001")
    assert impact["buildings"] == [{"id": 1, "name": "一号楼", "from": G1, "to": None}]
    assert r.json()["properties"]["version_id"] is None
    assert versions(db, G1) == 1
    assert incident(db, open_case) == before
    assert [e["action"] for e in events(db, open_case)] == ["report"]
    assert building_grids(db) == {"b1": G1, "b2": G2}


def test_save_reassigns_open_incidents_not_closed_ones(world, db, admin):
    open_case, closed_case = report(world, 116.022, 39.02), report(world, 116.0221, 39.02)
    close(db, closed_case)
    closed_before = incident(db, closed_case)
    r = shrink_g1(world, admin)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["impact"]["incidents"]] == [open_case]
    now = incident(db, open_case)
    assert (now["grid_code"], now["responsible_area_code"], now["method"]) == (None, C1, "outside")
    ev = events(db, open_case)
    assert [e["action"] for e in ev] == ["report", "reassign"]
    assert (ev[1]["actor"], ev[1]["from_status"], ev[1]["to_status"]) == (
        "boss",
        "reported",
        "reported",
    )
    assert ev[1]["data"]["from"]["grid"] == G1 and ev[1]["data"]["to"]["grid"] is None
    assert ev[1]["data"]["areas"] == [G1]
    assert G1 in ev[1]["note"]
    assert incident(db, closed_case) == closed_before
    assert [e["action"] for e in events(db, closed_case)] == ["report", "close"]
    # the neighbour grows into the freed strip: the open case moves on to G2
    r = reshape(world, admin, G2, poly(116.02, 39.0, 116.049, 39.05))
    assert r.status_code == 200, r.text
    assert incident(db, open_case)["grid_code"] == G2
    grid_version = db.execute(
        "SELECT id FROM areas WHERE code = %s AND valid_to IS NULL", (G2,)
    ).fetchone()["id"]
    assert incident(db, open_case)["grid_version_id"] == grid_version
    assert [e["action"] for e in events(db, open_case)] == ["report", "reassign", "reassign"]


def test_reassignment_changes_department_across_streets(world, db, admin):
    case = report(world, 116.055, 39.02)  # street S2: SJ0102 goes to SANITATION
    assert incident(db, case)["department_code"] == "SANITATION"
    r = reshape(world, admin, S2, poly(116.06, 39.0, 116.1, 39.05))
    assert r.status_code == 200, r.text
    assert incident(db, case)["responsible_area_code"] == D
    r = reshape(world, admin, S1, poly(116.0, 39.0, 116.06, 39.1))
    assert r.status_code == 200, r.text
    moved = r.json()["impact"]["incidents"]
    assert [(m["from"]["department"], m["to"]["department"]) for m in moved] == [
        ("SANITATION", "CITYMGMT-001")
    ]
    assert incident(db, case)["department_code"] == "CITYMGMT-001"
    assert incident(db, case)["responsible_area_code"] == S1
