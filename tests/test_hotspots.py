"""源头治理: hotspots (DBSCAN in metres) and repeat locations, through HTTP."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from psycopg import sql
from pyproj import Geod
from shapely.geometry import MultiPoint, shape
from shapely.testing import assert_geometries_equal

from api.services.evaluation.hotspot_cache import CachedHotspots
from gis.hotspots import Hotspots, hotspot_features
from gis.window import Window
from tests.loop import G1, G2, SH, ok

ALL = sql.SQL("TRUE")  # the admin's scope: every incident

T0 = dt.datetime(2025, 11, 3, 10, 0, tzinfo=SH)
GEOD = Geod(ellps="WGS84")
CENTRE = (116.010, 39.020)  # grid 1
EDGE = (116.025, 39.035)  # on the edge between grid 1 and grid 2


def moved(origin, east_m=0.0, north_m=0.0):
    """A point east/north of `origin` by metres on the ellipsoid."""
    lon, lat, _ = GEOD.fwd(*origin, 90, east_m) if east_m else (*origin, 0)
    lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m) if north_m else (lon, lat, 0)
    return lon, lat


def post(world, category, point, headers=None):
    body = {"category": category, "location": {"lon": point[0], "lat": point[1]}}
    r = world.post("/api/v1/incidents", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def hot(world, headers, **params):
    r = world.get("/api/v1/hotspots", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    return r.json()


def test_a_cluster_with_its_figures_hull_and_grids(world, cast, clock):
    # five reports within ~40 m of the centre in grid 1, over two days
    offsets = [(0, 0), (30, 0), (0, 30), (-20, -20), (25, 25)]
    points = [moved(CENTRE, e, n) for e, n in offsets]
    ids = []
    for i, p in enumerate(points):
        ids.append(post(world, "SJ0102" if i != 2 else "BJ0101", p))
        clock.advance(hours=12)
    # three reports straddling the grid 1 / grid 2 edge, and loose ones far apart
    edge = [post(world, "SJ0102", moved(EDGE, e, 0)) for e in (-30, 0, 30)]
    for k in range(4):
        post(world, "SJ0102", moved(CENTRE, 500 + 400 * k, 2000))
    clock.advance(days=1)

    doc = hot(world, cast.admin)  # defaults: 7 days, 100 m, 5 incidents
    assert doc["parameters"]["radius_m"] == 100 and doc["parameters"]["min_count"] == 5
    assert [f["id"] for f in doc["features"]] == ["H1"]
    f = doc["features"][0]
    p = f["properties"]
    assert p["count"] == 5 and p["open"] == 5 and p["incidents"] == ids
    assert p["categories"] == [
        {"code": "SJ0102", "name": "暴露垃圾", "count": 4},
        {"code": "BJ0101", "name": "上水井盖", "count": 1},
    ]
    assert (p["first_at"], p["last_at"]) == (
        "2025-11-03T02:00:00+00:00",
        "2025-11-05T02:00:00+00:00",
    )
    assert p["grids"] == [{"code": G1, "name": "一社区第1网格"}]
    assert p["epsg"] == 32650  # UTM zone 50N holds 116°E
    assert f["geometry"]["type"] == "Polygon"
    assert_geometries_equal(
        shape(f["geometry"]), MultiPoint(points).convex_hull, tolerance=1e-7, normalize=True
    )
    hull_area = abs(GEOD.geometry_area_perimeter(MultiPoint(points).convex_hull)[0])
    assert p["area_m2"] == pytest.approx(hull_area, rel=2e-3)

    # smaller clusters with min_count=3; the edge cluster touches both grids
    three = hot(world, cast.admin, min_count=3)["features"]
    assert [x["properties"]["count"] for x in three] == [5, 3]
    assert three[1]["properties"]["incidents"] == edge
    assert [g["code"] for g in three[1]["properties"]["grids"]] == [G1, G2]

    # filters: category prefix, time window
    assert hot(world, cast.admin, category="SJ01")["features"] == []  # only 4 SJ0102 there
    assert [
        x["properties"]["count"]
        for x in hot(world, cast.admin, category="SJ", min_count=3)["features"]
    ] == [4, 3]
    # the last day holds the edge reports only
    last_day = hot(world, cast.admin, days=1, min_count=3)["features"]
    assert [x["properties"]["incidents"] for x in last_day] == [edge]


def test_the_radius_is_metres_not_degrees(world, cast, clock):
    # five reports in an east-west line, 90 m apart: 90 m is 0.00104° of longitude at 39°N but
    # only 0.00081° of latitude, so a radius turned into degrees the naive way would miss them
    line = [post(world, "SJ0102", moved(CENTRE, 90 * k, 0)) for k in range(5)]
    clock.advance(hours=1)
    found = hot(world, cast.admin, radius_m=100, min_count=3)["features"]
    assert len(found) == 1 and found[0]["properties"]["incidents"] == line
    assert hot(world, cast.admin, radius_m=85, min_count=3)["features"] == []
    first, last = moved(CENTRE, 0, 0), moved(CENTRE, 360, 0)
    x0, _, x1, _ = shape(found[0]["geometry"]).bounds
    assert (x0, x1) == (pytest.approx(first[0], abs=1e-7), pytest.approx(last[0], abs=1e-7))


def test_rejected_are_left_out_and_scope_applies(world, cast, clock):
    ids = [post(world, "SJ0102", moved(CENTRE, 10 * k, 0)) for k in range(5)]
    clock.advance(hours=1)
    assert len(hot(world, cast.disp)["features"]) == 1
    assert hot(world, cast.other_disp)["features"] == []  # street 乙 sees nothing of street 甲
    assert len(hot(world, cast.dept)["features"]) == 1  # routed to CITYMGMT-001: its cases
    assert hot(world, cast.water)["features"] == []  # not WATER's
    r = world.get("/api/v1/hotspots", headers=cast.resident)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert world.get("/api/v1/hotspots").status_code == 401
    ok(world, ids[0], cast.disp, "reject", data={"reason": "invalid"})
    assert hot(world, cast.admin)["features"] == []
    bad = world.get("/api/v1/hotspots", params={"radius_m": 0}, headers=cast.admin)
    assert bad.status_code == 422
    bad = world.get("/api/v1/hotspots", params={"category": "SJ'--"}, headers=cast.admin)
    assert bad.status_code == 422


def close_on_the_spot(world, cast, point, category="SJ0102"):
    incident = post(world, category, point)
    ok(world, incident, cast.officer, "self_handle", note="已处理")
    ok(world, incident, cast.officer, "verify", data={"passed": True})
    return incident


def test_repeat_locations_by_building_and_grid(world, cast, clock, db):
    in_b1 = (116.02425, 39.0105)  # inside building 一号楼 (grid 1)
    b1 = [close_on_the_spot(world, cast, in_b1) for _ in range(3)]
    close_on_the_spot(world, cast, in_b1, "BJ0101")  # another class
    post(world, "SJ0102", in_b1)  # still open: not counted
    elsewhere = close_on_the_spot(world, cast, CENTRE)
    clock.advance(days=1)

    r = world.get("/api/v1/repeats", params={"min_count": 3}, headers=cast.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    building_id = db.execute("SELECT id FROM buildings WHERE source_id = 'b1'").fetchone()["id"]
    assert [f["id"] for f in doc["features"]] == [f"{building_id}/SJ01"]
    p = doc["features"][0]["properties"]
    assert p == {
        "level": "building",
        "code": str(building_id),
        "name": "一号楼",
        "class": "SJ01",
        "class_name": "市容环境",
        "count": 3,
        "first_closed_at": p["first_closed_at"],
        "last_closed_at": p["last_closed_at"],
        "incidents": b1,
        "flag": "source_governance",
    }
    assert doc["features"][0]["geometry"]["type"] == "MultiPolygon"

    grids = world.get(
        "/api/v1/repeats", params={"min_count": 4, "level": "grid"}, headers=cast.admin
    ).json()["features"]
    assert [(f["properties"]["code"], f["properties"]["count"]) for f in grids] == [(G1, 4)]
    assert grids[0]["properties"]["incidents"] == [*b1, elsewhere]
    only_bj = world.get(
        "/api/v1/repeats", params={"min_count": 2, "category": "BJ01"}, headers=cast.admin
    ).json()["features"]
    assert only_bj == []
    clock.advance(days=2)
    recent = world.get(
        "/api/v1/repeats", params={"min_count": 2, "days": 1}, headers=cast.admin
    ).json()["features"]
    assert recent == []
    assert world.get("/api/v1/repeats", headers=cast.resident).status_code == 403
    assert (
        world.get("/api/v1/repeats", params={"level": "street"}, headers=cast.admin).status_code
        == 422
    )


def test_a_border_point_goes_to_the_cluster_reported_first(world, cast, clock):
    # Two clusters of four (core points: ≥ 4 within 100 m) and, between them, a point within
    # 90 m of a core point of each but with only three neighbours itself: a border point. DBSCAN
    # gives it to the cluster that reaches it first; points enter in report order.
    def pair(origin, west_first):
        west = [moved(origin, e, 0) for e in (-30, -20, -10, 10)]
        east = [moved(origin, e, 0) for e in (190, 210, 220, 230)]
        first, second = (west, east) if west_first else (east, west)
        ids = []
        for group in (first, second):
            ids.append([post(world, "SJ0102", p) for p in group])
            clock.advance(minutes=10)
        border = post(world, "SJ0102", moved(origin, 100, 0))
        clock.advance(minutes=10)
        return ids, border

    (a_first, _a_second), a_border = pair(moved(CENTRE, -300, 0), west_first=True)
    (b_first, _b_second), b_border = pair(moved(CENTRE, -300, 600), west_first=False)
    for _ in range(3):  # the same answer on every call
        features = hot(world, cast.admin, min_count=4)["features"]
        clusters = [f["properties"]["incidents"] for f in features]
        assert sorted(map(len, clusters)) == [4, 4, 5, 5]
        assert a_first + [a_border] in clusters and b_first + [b_border] in clusters


def clustered_now(db, now, days=7, **params):
    """The straightforward answer: the clustering itself, on the database, for `now` (admin)."""
    since = now - dt.timedelta(days=days)
    window = Window(since, now, params.get("min_count", 5), params.get("category"), ALL, {})
    found = hotspot_features(db, window, radius_m=params.get("radius_m", 100))
    db.rollback()
    return json.loads(found.text)


def test_an_answer_is_served_again_only_while_what_it_clusters_is_unchanged(world, cast, clock, db):
    ids = []
    for k in range(12):  # one cluster, a body over GRIDGOV_GZIP_MIN_BYTES (1 KB)
        ids.append(post(world, "SJ0102", moved(CENTRE, 12 * k, 0)))
        clock.advance(minutes=10)
    calls = []

    def check(expect):
        r = world.get("/api/v1/hotspots", headers={**cast.admin, "Accept-Encoding": "gzip"})
        assert r.status_code == 200, r.text
        plain = world.get("/api/v1/hotspots", headers={**cast.admin, "Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        least = world.app.state.settings.http.gzip_min_bytes
        gzipped = 0 < least <= len(plain.content)
        assert r.headers.get("content-encoding") == ("gzip" if gzipped else None)
        zipped.append(gzipped)
        assert plain.content == r.content  # httpx un-gzipped the first one
        doc = r.json()
        assert doc["features"] == clustered_now(db, clock.now)
        assert doc["parameters"]["to"] == clock.now.isoformat()
        calls.append(r.headers["x-hotspot-cache"])
        assert calls[-1] == expect, calls
        return doc["features"]

    zipped = []
    first = check("miss")
    assert [f["properties"]["incidents"] for f in first] == [ids]
    assert check("hit") == first
    clock.advance(hours=1)  # time passes, nobody left the window: the same answer
    assert check("hit") == first
    ok(world, ids[0], cast.officer, "self_handle", note="已处理")  # still open: no change
    assert check("hit") == first
    ok(world, ids[0], cast.officer, "verify", data={"passed": True})  # closed
    assert check("miss")[0]["properties"]["open"] == 11
    post(world, "SJ0102", moved(CENTRE, 3000, 0))  # a lone report far away: clustered again
    clock.advance(minutes=1)  # (the window ends before now: a report at `now` is not in it)
    assert check("miss") == check("hit")
    db.execute("UPDATE categories SET name = '市容' WHERE code = 'SJ0102'")
    db.commit()
    assert check("miss")[0]["properties"]["categories"][0]["name"] == "市容"
    ok(world, ids[1], cast.disp, "reject", data={"reason": "invalid"})
    assert check("miss")[0]["properties"]["count"] == 11
    # a week after the first report it leaves the window: no write, yet clustered again
    clock.now = dt.datetime.fromisoformat(first[0]["properties"]["first_at"]) + dt.timedelta(
        days=7, seconds=1
    )
    assert check("miss")[0]["properties"]["incidents"] == ids[2:]
    assert check("hit")[0]["properties"]["count"] == 10
    assert zipped.count(True) >= 8  # bodies over GRIDGOV_GZIP_MIN_BYTES went out compressed
    # each user's scope is its own answer
    assert world.get("/api/v1/hotspots", headers=cast.other_disp).json()["features"] == []


def test_a_changed_answer_keeps_the_features_of_the_clusters_that_did_not_change(
    world, cast, clock, db
):
    # four clusters of five, 400 m apart; each change below touches one of them
    spots = [moved(CENTRE, 400 * (k % 2), 400 * (k // 2)) for k in range(4)]
    members = []
    for spot in spots:
        members.append([post(world, "SJ0102", moved(spot, 15 * j, 0)) for j in range(5)])
        clock.advance(minutes=10)

    def check(reused):
        r = world.get("/api/v1/hotspots", headers=cast.admin)
        assert r.status_code == 200, r.text
        assert r.headers["x-hotspot-cache"] == "miss"
        features = r.json()["features"]
        assert features == clustered_now(db, clock.now)  # as if clustered from nothing
        assert r.headers["x-hotspot-reused"] == str(reused)
        return features

    first = check(0)
    assert sorted(f["properties"]["incidents"] for f in first) == sorted(members)
    assert first[3]["properties"]["incidents"] == members[0]  # equal counts: the newest first
    # two more reports at the first spot: H4 changes and becomes H1, the others move down
    grown = members[0] + [post(world, "SJ0102", moved(spots[0], 15 * j, 10)) for j in (1, 2)]
    clock.advance(minutes=1)
    second = check(3)
    assert second[0]["id"] == "H1" and second[0]["properties"]["incidents"] == grown
    assert [f["properties"] for f in second[1:]] == [f["properties"] for f in first[:3]]
    assert [f["id"] for f in second] == ["H1", "H2", "H3", "H4"]
    # a close in another cluster (its `open` changes), a new cluster far away
    ok(world, members[2][0], cast.officer, "self_handle", note="已处理")
    ok(world, members[2][0], cast.officer, "verify", data={"passed": True})
    far = [post(world, "SJ0102", moved(CENTRE, 15 * j, 2000)) for j in range(6)]
    clock.advance(minutes=1)
    third = check(3)  # the grown one and two others unchanged
    assert [f["properties"]["incidents"] for f in third[:2]] == [grown, far]  # 7, then 6
    closed = [f for f in third if members[2][0] in f["properties"]["incidents"]]
    assert [f["properties"]["open"] for f in closed] == [4]
    # a rejection dissolves the second cluster (four left); the rest is taken over
    ok(world, members[1][2], cast.disp, "reject", data={"reason": "invalid"})
    assert len(check(4)) == 4
    # a category renamed: every feature is built again
    db.execute("UPDATE categories SET name = '市容' WHERE code = 'SJ0102'")
    db.commit()
    assert {f["properties"]["categories"][0]["name"] for f in check(0)} == {"市容"}


def test_the_cached_gzip_form_is_the_body_compressed():
    text = json.dumps([{"a": "点" * 5000, "b": list(range(999))}]).encode()
    entry = CachedHotspots(Hotspots(text, (1, 2, "x"), {}))
    for level in (1, 6, 9):
        for tail in (b',"parameters":{}}', b',"parameters":{"to":"2026-12-05"}}', b"}"):
            assert gzip.decompress(entry.gzipped(tail, level)) == entry.body(tail)
