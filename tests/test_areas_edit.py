"""Boundary editing through /api/v1/areas: create, redraw, checks, snap, ETags, history, as-of.

The synthetic world (tests/world.py): community C1 = [116.000, 116.050] × [39.00, 39.05] holds
grid G1 = [116.000, 116.025] and G2 = [116.025, 116.049]; the strip [116.049, 116.050] has no grid.
"""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from shapely.geometry import box, shape

from tests.areas_util import (
    C1,
    C2,
    G1,
    G2,
    G3,
    STRIP,
    assert_shape,
    etag,
    geo_area,
    grid_feature,
    poly,
    problems,
    versions,
)


def test_create_grid_generates_code_and_locate_finds_it(world, db, admin):
    r = world.post(
        "/api/v1/areas", json=grid_feature(STRIP, "一社区第3网格", note="新楼盘"), headers=admin
    )
    assert r.status_code == 201, r.text
    body = r.json()
    props = body["properties"]
    assert body["type"] == "Feature" and body["id"] == G3
    assert (props["code"], props["level"], props["parent_code"]) == (G3, "grid", C1)
    assert (props["created_by"], props["note"]) == ("boss", "新楼盘")
    assert r.headers["etag"] == f'"{props["version_id"]}"'
    assert r.headers["location"] == f"/api/v1/areas/{G3}"
    assert body["warnings"] == {"type": "FeatureCollection", "features": []}  # strip now covered
    assert body["fix"] is None and body["impact"] == {"incidents": [], "buildings": []}
    a = world.get("/api/v1/locate", params={"lon": 116.0495, "lat": 39.02}).json()["assignment"]
    assert (a["grid"]["code"], a["method"]) == (G3, "inside")
    listed = world.get("/api/v1/areas", params={"parent": C1}).json()
    assert sorted(f["id"] for f in listed["features"]) == [G1, G2, G3]
    assert etag(world, G3) == r.headers["etag"]


def test_gaps_left_between_siblings_are_warnings(world, db, admin):
    r = world.post(
        "/api/v1/areas", json=grid_feature((116.049, 39.00, 116.05, 39.03)), headers=admin
    )
    assert r.status_code == 201, r.text
    gaps = r.json()["warnings"]["features"]
    assert len(gaps) == 1
    assert gaps[0]["properties"]["kind"] == "gap"
    assert gaps[0]["properties"]["codes"] == [C1, G2, G3]
    assert_shape(gaps[0]["geometry"], box(116.049, 39.03, 116.05, 39.05))
    assert gaps[0]["properties"]["area_m2"] == pytest.approx(
        geo_area(db, (116.049, 39.03, 116.05, 39.05)), rel=1e-4
    )


def test_self_intersection_is_refused_saying_where(world, db, admin):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[116.049, 39.0], [116.05, 39.01], [116.05, 39.0], [116.049, 39.01], [116.049, 39.0]]
        ],
    }
    before = versions(db)
    feature = {
        "type": "Feature",
        "geometry": bowtie,
        "properties": {"name": "x", "parent_code": C1},
    }
    found = problems(world.post("/api/v1/areas", json=feature, headers=admin))
    assert len(found) == 1
    p = found[0]["properties"]
    assert (p["kind"], p["reason"]) == ("invalid_geometry", "Self-intersection")
    assert p["location"] == pytest.approx([116.0495, 39.005])
    assert found[0]["geometry"]["type"] == "Point"
    assert versions(db) == before


def test_child_outside_parent_returns_the_outside_piece(world, db, admin):
    before = versions(db)
    r = world.post(
        "/api/v1/areas", json=grid_feature((116.049, 39.0, 116.051, 39.01)), headers=admin
    )
    found = problems(r)
    assert [f["properties"]["kind"] for f in found] == ["outside_parent"]
    assert found[0]["properties"]["codes"] == [G3, C1]
    assert_shape(found[0]["geometry"], box(116.05, 39.0, 116.051, 39.01))
    assert found[0]["properties"]["area_m2"] == pytest.approx(
        geo_area(db, (116.05, 39.0, 116.051, 39.01)), rel=1e-4
    )
    assert "超出上级区域" in r.json()["error"]["message"]  # in the default language, zh_CN
    assert versions(db) == before


def test_outside_parent_within_tolerance_is_accepted(world, admin):
    # 3.4e-6 deg of longitude at 39N is ~0.29 m: inside the default 0.5 m tolerance
    r = world.post(
        "/api/v1/areas", json=grid_feature((116.049, 39.0, 116.05 + 3.4e-6, 39.05)), headers=admin
    )
    assert r.status_code == 201, r.text


def test_tolerance_is_a_setting(world_db, token_for):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.conftest import settings_for

    s = settings_for(world_db)
    s.topology.boundary_tolerance_m = 0.1
    headers = token_for("strict", "admin")
    with TestClient(create_app(s)) as client:
        r = client.post(
            "/api/v1/areas",
            json=grid_feature((116.049, 39.0, 116.05 + 3.4e-6, 39.05)),
            headers=headers,
        )
        assert [f["properties"]["kind"] for f in problems(r)] == ["outside_parent"]


def test_overlap_with_sibling_returns_geometry_and_codes(world, db, admin):
    before = versions(db)
    found = problems(
        world.post(
            "/api/v1/areas", json=grid_feature((116.045, 39.0, 116.05, 39.05)), headers=admin
        )
    )
    assert [f["properties"]["kind"] for f in found] == ["overlap"]
    props = found[0]["properties"]
    assert (props["codes"], props["sibling"]) == ([G2, G3], G2)
    assert_shape(found[0]["geometry"], box(116.045, 39.0, 116.049, 39.05))
    assert props["area_m2"] == pytest.approx(
        geo_area(db, (116.045, 39.0, 116.049, 39.05)), rel=1e-4
    )
    assert versions(db) == before


def test_floating_point_overlap_below_epsilon_is_ignored(world, admin):
    # 1e-11 deg × 5.5 km ≈ 0.005 m² of overlap with G2: noise, not a problem
    r = world.post(
        "/api/v1/areas", json=grid_feature((116.049 - 1e-11, 39.0, 116.05, 39.05)), headers=admin
    )
    assert r.status_code == 201, r.text


def test_snap_clips_to_parent_and_cuts_out_siblings(world, db, admin):
    r = world.post(
        "/api/v1/areas",
        params={"fix": "snap"},
        json=grid_feature((116.045, 39.0, 116.06, 39.05)),
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert_shape(body["geometry"], box(*STRIP), tolerance=1e-9)
    fix = body["fix"]
    overlap = geo_area(db, (116.045, 39.0, 116.049, 39.05))
    outside = geo_area(db, (116.05, 39.0, 116.06, 39.05))
    assert fix["fix"] == "snap"
    assert fix["siblings_m2"].keys() == {G2}
    assert fix["siblings_m2"][G2] == pytest.approx(overlap, rel=1e-4)
    assert fix["outside_parent_m2"] == pytest.approx(outside, rel=1e-4)
    assert fix["area_removed_m2"] == pytest.approx(overlap + outside, rel=1e-4)
    # the shared edge is G2's own: no overlap and no gap is left
    cov = world.get("/api/v1/coverage", params={"parent": C1}).json()
    assert cov["features"] == []


def test_put_redraws_with_etag_and_history(world, db, admin):
    v1 = etag(world, G1)
    r = world.put(
        f"/api/v1/areas/{G1}",
        json={
            "type": "Feature",
            "geometry": poly(116.0, 39.0, 116.02, 39.05),
            "properties": {"note": "道路拓宽", "attributes": {"officer": "李"}},
        },
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 200, r.text
    v2 = r.headers["etag"]
    assert v2 != v1 and r.json()["properties"]["version_id"] == int(v2.strip('"'))
    assert r.json()["properties"]["attributes"] == {"officer": "李"}
    assert r.json()["properties"]["name"] == "一社区第1网格"
    gaps = r.json()["warnings"]["features"]
    assert sorted(g["properties"]["codes"] for g in gaps) == [[C1, G1, G2], [C1, G2]]
    hist = world.get(f"/api/v1/areas/{G1}/history", headers=admin).json()["features"]
    assert [h["properties"]["version_id"] for h in hist] == [int(v1.strip('"')), int(v2.strip('"'))]
    assert hist[0]["properties"]["valid_to"] == hist[1]["properties"]["valid_from"]
    assert hist[1]["properties"]["valid_to"] is None
    assert (hist[1]["properties"]["created_by"], hist[1]["properties"]["note"]) == (
        "boss",
        "道路拓宽",
    )
    assert_shape(hist[0]["geometry"], box(116.0, 39.0, 116.025, 39.05))
    # the database refuses to rewrite history whatever door is used
    import psycopg

    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("UPDATE areas SET name = 'x' WHERE id = %s", (int(v1.strip('"')),))
    db.rollback()


def test_put_without_geometry_changes_name_only(world, admin):
    v1 = etag(world, G2)
    r = world.put(
        f"/api/v1/areas/{G2}",
        json={"type": "Feature", "geometry": None, "properties": {"name": "二号网格"}},
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == "二号网格"
    assert_shape(r.json()["geometry"], box(116.025, 39.0, 116.049, 39.05))


def test_as_of_lookups_before_and_after_an_edit(world, admin):
    v1 = etag(world, G1)
    r = world.put(
        f"/api/v1/areas/{G1}",
        json={"type": "Feature", "geometry": poly(116.0, 39.0, 116.02, 39.05), "properties": {}},
        headers={**admin, "If-Match": v1},
    )
    assert r.status_code == 200, r.text
    changed = dt.datetime.fromisoformat(r.json()["properties"]["valid_from"])
    before = (changed - dt.timedelta(microseconds=1)).isoformat()
    after = changed.isoformat()
    point = {"lon": 116.022, "lat": 39.02}
    old = world.get("/api/v1/locate", params={**point, "at": before}).json()["assignment"]
    new = world.get("/api/v1/locate", params={**point, "at": after}).json()["assignment"]
    now = world.get("/api/v1/locate", params=point).json()["assignment"]
    assert (old["method"], old["grid"]["code"], old["grid"]["version_id"]) == (
        "inside",
        G1,
        int(v1.strip('"')),
    )
    assert (new["method"], new["grid"], new["responsible_area"]) == ("outside", None, C1)
    assert now == new
    then = world.get("/api/v1/areas", params={"parent": C1, "at": before}).json()["features"]
    g1_then = next(f for f in then if f["id"] == G1)
    assert_shape(g1_then["geometry"], box(116.0, 39.0, 116.025, 39.05))
    later = world.get("/api/v1/areas", params={"parent": C1, "at": after}).json()["features"]
    g1_later = next(f for f in later if f["id"] == G1)
    assert_shape(g1_later["geometry"], box(116.0, 39.0, 116.02, 39.05))
    # before the world existed, nothing was there
    empty = world.get("/api/v1/areas", params={"at": "2000-01-01T00:00:00Z"}).json()
    assert empty["features"] == []


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(116.010, 39.020), (116.025, 39.020), (116.0249, 39.0305), (116.0493, 39.02), (116.07, 39.02)],
)
def test_as_of_now_answers_like_the_current_lookup(world, lon, lat):
    now = world.get("/api/v1/locate", params={"lon": lon, "lat": lat}).json()
    later = world.get(
        "/api/v1/locate", params={"lon": lon, "lat": lat, "at": "2100-01-01T00:00:00+08:00"}
    ).json()
    assert later == now


def test_missing_if_match_is_428_and_stale_is_412(world, db, admin):
    edit = {"type": "Feature", "geometry": poly(116.0, 39.0, 116.02, 39.05), "properties": {}}
    r = world.put(f"/api/v1/areas/{G1}", json=edit, headers=admin)
    assert r.status_code == 428
    assert r.json()["error"]["code"] == "precondition_required"
    v1 = etag(world, G1)
    assert (
        world.put(f"/api/v1/areas/{G1}", json=edit, headers={**admin, "If-Match": v1}).status_code
        == 200
    )
    v2 = etag(world, G1)
    stale = world.put(
        f"/api/v1/areas/{G1}",
        json={**edit, "geometry": poly(116.0, 39.0, 116.021, 39.05)},
        headers={**admin, "If-Match": v1},
    )
    assert stale.status_code == 412
    err = stale.json()["error"]
    assert err["code"] == "stale_version"
    current = err["details"]["current"]
    assert current["type"] == "Feature" and current["properties"]["version_id"] == int(
        v2.strip('"')
    )
    assert_shape(current["geometry"], box(116.0, 39.0, 116.02, 39.05))
    junk = world.put(f"/api/v1/areas/{G1}", json=edit, headers={**admin, "If-Match": '"abc"'})
    assert junk.status_code == 412
    assert (
        world.put(f"/api/v1/areas/{G1}", json=edit, headers={**admin, "If-Match": "*"}).status_code
        == 428
    )
    assert versions(db, G1) == 2


def test_editing_is_scoped(world, token_for):
    edit = {"type": "Feature", "geometry": poly(116.0, 39.0, 116.02, 39.05), "properties": {}}
    assert world.put(f"/api/v1/areas/{G1}", json=edit).status_code == 401
    assert world.post("/api/v1/areas", json=grid_feature(STRIP)).status_code == 401
    assert world.delete(f"/api/v1/areas/{G1}").status_code == 401
    v1 = etag(world, G1)
    other = token_for("c2-officer", "officer", C2)
    dispatcher = token_for("c1-dispatcher", "dispatcher", C1)
    grid_officer = token_for("g1-officer", "officer", G1)
    mine = token_for("c1-officer", "officer", C1)
    for headers in (other, dispatcher):
        r = world.put(f"/api/v1/areas/{G1}", json=edit, headers={**headers, "If-Match": v1})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (
            world.post("/api/v1/areas", json=grid_feature(STRIP), headers=headers).status_code
            == 403
        )
    # a grid officer edits their own grid but cannot create its siblings
    assert (
        world.post("/api/v1/areas", json=grid_feature(STRIP), headers=grid_officer).status_code
        == 403
    )
    r = world.put(f"/api/v1/areas/{G1}", json=edit, headers={**grid_officer, "If-Match": v1})
    assert r.status_code == 200, r.text
    assert world.post("/api/v1/areas", json=grid_feature(STRIP), headers=mine).status_code == 201
    top = {
        "type": "Feature",
        "geometry": poly(81.0, 40.0, 81.1, 40.1),
        "properties": {"name": "区", "code": "650198", "level": "district"},
    }
    assert world.post("/api/v1/areas", json=top, headers=mine).status_code == 403
    # preview, split and merge follow the same rule
    preview = world.post(f"/api/v1/areas/{G2}/preview", json=edit, headers=other)
    assert preview.status_code == 403
    assert world.post(f"/api/v1/areas/{G2}/preview", json=edit).status_code == 401
    line = {"type": "LineString", "coordinates": [[116.03, 38.9], [116.03, 39.1]]}
    split = world.post(
        f"/api/v1/areas/{G2}/split",
        json={"type": "Feature", "geometry": line},
        headers={**other, "If-Match": etag(world, G2)},
    )
    assert split.status_code == 403
    merge = world.post(
        "/api/v1/areas/merge",
        json={"codes": [G1, G2]},
        headers={**grid_officer, "If-Match": f"{etag(world, G1)}, {etag(world, G2)}"},
    )
    assert merge.status_code == 403 and merge.json()["error"]["details"]["area"] == G2


@pytest.mark.parametrize(
    ("props", "status", "code"),
    [
        ({"level": "street"}, 422, "validation_failed"),
        ({"parent_code": "999999"}, 422, "validation_failed"),
        ({"code": G1}, 409, "code_taken"),
        ({"code": "bad code!"}, 422, "validation_failed"),
        ({"name": ""}, 422, "validation_failed"),
    ],
)
def test_bad_creations_are_refused_and_store_nothing(world, db, admin, props, status, code):
    before = versions(db)
    r = world.post("/api/v1/areas", json=grid_feature(STRIP, **props), headers=admin)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert versions(db) == before


def test_non_polygon_geometry_is_invalid_geometry(world, admin):
    feature = grid_feature(STRIP)
    feature["geometry"] = {"type": "Point", "coordinates": [116.0495, 39.02]}
    r = world.post("/api/v1/areas", json=feature, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_geometry"


def test_injection_in_name_is_stored_verbatim(world, db, admin):
    name = "x'); DROP TABLE areas; --"
    r = world.post("/api/v1/areas", json=grid_feature(STRIP, name), headers=admin)
    assert r.status_code == 201 and r.json()["properties"]["name"] == name
    assert versions(db) == 9


def test_shrinking_a_parent_below_its_children_is_refused(world, db, admin):
    v = etag(world, C1)
    r = world.put(
        f"/api/v1/areas/{C1}",
        json={"type": "Feature", "geometry": poly(116.0, 39.0, 116.04, 39.05), "properties": {}},
        headers={**admin, "If-Match": v},
    )
    found = problems(r)
    assert [(f["properties"]["kind"], f["properties"]["codes"]) for f in found] == [
        ("outside_parent", [G2, C1])
    ]
    assert shapely.equals(shape(found[0]["geometry"]), box(116.04, 39.0, 116.049, 39.05))


def test_no_lost_update_when_another_save_commits_while_we_wait(world, world_db, db, admin):
    """A PUT waiting on the row lock of a concurrent save gets 412, never overwrites it."""
    import threading

    import psycopg
    from psycopg.rows import dict_row

    v1 = etag(world, G1)
    edit = {"type": "Feature", "geometry": poly(116.0, 39.0, 116.02, 39.05), "properties": {}}
    results = []
    with psycopg.connect(world_db, row_factory=dict_row) as other:
        row = other.execute(
            "SELECT id FROM areas WHERE code = %s AND valid_to IS NULL FOR UPDATE", (G1,)
        ).fetchone()
        put = threading.Thread(
            target=lambda: results.append(
                world.put(f"/api/v1/areas/{G1}", json=edit, headers={**admin, "If-Match": v1})
            )
        )
        put.start()
        for _ in range(400):  # until the PUT waits on our lock (bounded: the test never hangs)
            waiting = db.execute(
                "SELECT count(*) AS n FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()["n"]
            db.commit()
            if waiting:
                break
            put.join(0.025)
        # the other editor's save: close v1, open its own version
        other.execute("UPDATE areas SET valid_to = now() WHERE id = %s", (row["id"],))
        theirs = other.execute(
            "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, created_by) "
            "SELECT code, parent_code, name, level, level_rank, geom, 'someone' FROM areas "
            "WHERE id = %s RETURNING id",
            (row["id"],),
        ).fetchone()["id"]
        other.commit()
    put.join(30)
    assert waiting == 1
    assert len(results) == 1 and results[0].status_code == 412, results[0].text
    assert results[0].json()["error"]["details"]["current"]["properties"]["version_id"] == theirs
    assert versions(db, G1) == 2


def test_history_of_an_unknown_code_is_404(world):
    r = world.get("/api/v1/areas/nope/history")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert len(world.get(f"/api/v1/areas/{G1}/history").json()["features"]) == 1
