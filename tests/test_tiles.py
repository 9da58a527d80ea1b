"""Vector tiles: decoded with mapbox-vector-tile; cache hits and exact invalidation on saves."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.testing import assert_geometries_equal

from api.main import create_app
from api.services.interop.tile_cache import CachedTile, TileCache
from tests.conftest import settings_for
from tests.world import AREAS, box

MVT = "application/vnd.mapbox-vector-tile"
G1, G2 = "110199001001001", "110199001001002"
WORLD_AREAS = {code: (level, b) for code, _, _, level, b in AREAS}
HALF = 20037508.342789244


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def to_units(geom: shapely.Geometry, z: int, x: int, y: int) -> shapely.Geometry:
    """Tile units of a lon/lat geometry, clipped to the tile and its 64-unit buffer."""
    size = 2 * HALF / 2**z
    x0, y1 = -HALF + x * size, HALF - y * size

    def project(coords: Any) -> Any:
        out = []
        for lon, lat in coords:
            mx = lon * HALF / 180
            my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * HALF / math.pi
            out.append(((mx - x0) / size * 4096, 4096 - (y1 - my) / size * 4096))
        return out

    return shapely.transform(geom, project).intersection(shapely.box(-64, -64, 4160, 4160))


def get_tile(client: TestClient, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """GET a tile, check its type, decode it: ({layer: [features]}, headers)."""
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    layers = mapbox_vector_tile.decode(r.content) if r.content else {}
    return {name: layer["features"] for name, layer in layers.items()}, dict(r.headers)


def settle(client: TestClient, db: Any) -> None:
    """Wait until the tile listener has heard every NOTIFY committed so far (they arrive in
    commit order, so hearing a marker sent now means hearing all before it)."""
    token = uuid.uuid4().hex
    marker = json.dumps({"token": token, "table": "-", "bbox": None})
    db.execute("SELECT pg_notify('gridgov_tiles', %s)", (marker,))
    db.commit()
    assert client.app.state.tile_cache.wait_for_token(token)  # type: ignore[attr-defined]


def codes(features: list[dict[str, Any]]) -> list[str]:
    return sorted(f["properties"]["code"] for f in features)


def report(client: TestClient, lon: float, lat: float, category: str = "SJ0102") -> str:
    body = {"category": category, "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# --- content --------------------------------------------------------------------------------


def test_area_tile_features_attributes_and_geometry(world: TestClient) -> None:
    z = 12
    x, y = tile_of(116.020, 39.020, z)
    layers, headers = get_tile(world, f"/tiles/areas/{z}/{x}/{y}.pbf")
    assert list(layers) == ["areas"]
    feats = {f["properties"]["code"]: f for f in layers["areas"]}
    # the areas meeting this tile (with its buffer), worked out independently of PostGIS
    inside = {
        c for c, (_, b) in WORLD_AREAS.items() if not to_units(shapely.box(*b), z, x, y).is_empty
    }
    assert sorted(feats) == sorted(inside)
    assert {G1, G2, "110199", "110199001"} <= inside and "650199" not in inside
    assert feats[G1]["properties"] == {
        "code": G1,
        "name": "一社区第1网格",
        "level": "grid",
        "parent_code": "110199001001",
    }
    assert feats["110199"]["properties"]["level"] == "district"
    assert "parent_code" not in feats["110199"]["properties"]  # NULL attributes are left out
    for code in (G1, G2, "110199001001"):
        got = shapely.geometry.shape(feats[code]["geometry"])
        expected = to_units(shapely.from_wkt(box(*WORLD_AREAS[code][1])), z, x, y)
        # ST_AsMVTGeom snaps to whole units
        assert_geometries_equal(got, expected, tolerance=1.0, normalize=True)
    assert "x-tile-truncated" not in headers
    raw = mapbox_vector_tile.decode(world.get(f"/tiles/areas/{z}/{x}/{y}.pbf").content)
    assert (raw["areas"]["extent"], raw["areas"]["version"]) == (4096, 2)


def test_level_parameter_and_grids_layer(world: TestClient) -> None:
    z = 12
    x, y = tile_of(116.020, 39.020, z)
    layers, _ = get_tile(world, f"/tiles/areas/{z}/{x}/{y}.pbf?level=grid")
    assert codes(layers["areas"]) == [G1, G2]
    layers, _ = get_tile(world, f"/tiles/grids/{z}/{x}/{y}.pbf")
    assert list(layers) == ["grids"] and codes(layers["grids"]) == [G1, G2]
    layers, _ = get_tile(world, f"/tiles/areas/{z}/{x}/{y}.pbf?level=street")
    assert codes(layers["areas"]) == ["110199001", "110199002"]


def test_building_and_incident_tiles(world: TestClient, db: Any) -> None:
    first = report(world, 116.0242, 39.0105)  # inside building b1, grid 1
    db.execute(
        "UPDATE incidents SET due_at = now() - interval '1 hour' WHERE public_id = %s", (first,)
    )
    db.commit()
    second = report(world, 116.0243, 39.0104, "BJ0101")
    z = 16
    x, y = tile_of(116.0242, 39.0105, z)
    layers, _ = get_tile(world, f"/tiles/buildings/{z}/{x}/{y}.pbf")
    (b1,) = [f for f in layers["buildings"] if f["properties"]["name"] == "一号楼"]
    assert set(b1["properties"]) == {"id", "name"}  # households is NULL in the test world
    assert b1["geometry"]["type"] == "Polygon"
    layers, _ = get_tile(world, f"/tiles/incidents/{z}/{x}/{y}.pbf")
    props = {f["properties"]["id"]: f["properties"] for f in layers["incidents"]}
    assert props == {
        first: {
            "id": first,
            "category": "SJ0102",
            "status": "reported",
            "overdue": True,
            "grid": G1,
        },
        second: {
            "id": second,
            "category": "BJ0101",
            "status": "reported",
            "overdue": False,
            "grid": G1,
        },
    }
    point = [f for f in layers["incidents"] if f["properties"]["id"] == first][0]["geometry"]
    expected = to_units(shapely.Point(116.0242, 39.0105), z, x, y)
    assert_geometries_equal(shapely.geometry.shape(point), expected, tolerance=1.0)


def test_empty_tile_for_an_empty_area(world: TestClient) -> None:
    x, y = tile_of(121.0, 38.5, 12)  # the Bohai Sea
    for layer in ("areas", "grids", "buildings", "incidents"):
        r = world.get(f"/tiles/{layer}/12/{x}/{y}.pbf")
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-type"] == MVT


def test_feature_cap(world_db: str) -> None:
    settings = settings_for(world_db)
    settings.tiles.max_features = 3
    with TestClient(create_app(settings)) as client:
        z = 12
        x, y = tile_of(116.020, 39.020, z)
        layers, headers = get_tile(client, f"/tiles/areas/{z}/{x}/{y}.pbf")
        # upper levels first: the district and both streets are kept
        assert codes(layers["areas"]) == ["110199", "110199001", "110199002"]
        assert headers["x-tile-truncated"] == "true"
        layers, headers = get_tile(client, f"/tiles/grids/{z}/{x}/{y}.pbf")
        assert len(layers["grids"]) == 2 and "x-tile-truncated" not in headers


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/areas/23/0/0.pbf", 400),  # above the maximum zoom
        ("/tiles/areas/-1/0/0.pbf", 400),
        ("/tiles/areas/2/4/0.pbf", 400),  # x must be < 2^z
        ("/tiles/areas/2/0/4.pbf", 400),
        ("/tiles/areas/2/0/-1.pbf", 400),
        ("/tiles/areas/2/a/0.pbf", 422),
        ("/tiles/roads/2/0/0.pbf", 404),
        ("/tiles/grids/2/0/0.pbf?level=grid", 400),
        ("/tiles/areas/2/0/0.pbf?level=city", 422),
        ("/tiles/roads.json", 404),
    ],
)
def test_invalid_requests(world: TestClient, path: str, status: int) -> None:
    r = world.get(path)
    assert r.status_code == status, r.text
    assert "error" in r.json()


def test_tilejson(world: TestClient) -> None:
    doc = world.get("/tiles/grids.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/grids/{z}/{x}/{y}.pbf"]
    assert (doc["minzoom"], doc["maxzoom"]) == (0, 22)
    assert doc["bounds"] == [116.0, 39.0, 116.049, 39.05]
    assert doc["vector_layers"] == [
        {
            "id": "grids",
            "fields": {
                "code": "String",
                "name": "String",
                "level": "String",
                "parent_code": "String",
            },
            "minzoom": 0,
            "maxzoom": 22,
        }
    ]
    doc = world.get("/tiles/areas.json?level=district").json()
    assert doc["tiles"] == ["http://testserver/tiles/areas/{z}/{x}/{y}.pbf?level=district"]
    assert doc["bounds"] == [80.0, 39.0, 116.1, 40.1]
    empty = world.get("/tiles/incidents.json").json()  # no incidents yet: the whole world
    assert empty["bounds"] == [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    assert empty["vector_layers"][0]["fields"]["overdue"] == "Boolean"


# --- cache ----------------------------------------------------------------------------------


def test_cache_hits_and_conditional_requests(world: TestClient) -> None:
    path = "/tiles/areas/12/{}/{}.pbf".format(*tile_of(116.020, 39.020, 12))
    first, second = world.get(path), world.get(path)
    assert (first.headers["x-tile-cache"], second.headers["x-tile-cache"]) == ("miss", "hit")
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    again = world.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert world.get(path + "?level=grid").headers["x-tile-cache"] == "miss"  # its own key


def test_new_incident_refreshes_exactly_the_touched_tiles(world: TestClient) -> None:
    z = 14
    here = "/tiles/incidents/{}/{}/{}.pbf".format(z, *tile_of(116.010, 39.020, z))
    far = "/tiles/incidents/{}/{}/{}.pbf".format(z, *tile_of(116.090, 39.090, z))
    areas_here = "/tiles/areas/{}/{}/{}.pbf".format(z, *tile_of(116.010, 39.020, z))
    for path in (here, far, areas_here):
        assert get_tile(world, path)[1]["x-tile-cache"] == "miss"
        assert get_tile(world, path)[1]["x-tile-cache"] == "hit"
    assert get_tile(world, here)[0] == {}

    new = report(world, 116.010, 39.020)

    layers, headers = get_tile(world, here)
    assert headers["x-tile-cache"] == "miss"
    assert [f["properties"]["id"] for f in layers["incidents"]] == [new]
    assert get_tile(world, far)[1]["x-tile-cache"] == "hit"  # nothing changed there
    assert get_tile(world, areas_here)[1]["x-tile-cache"] == "hit"  # an incident is no boundary


def test_boundary_saved_by_another_process_is_never_served_stale(
    world: TestClient, db: Any
) -> None:
    """A write from outside this process (psql, the CLI, another worker) arrives by NOTIFY."""
    z = 14
    here = "/tiles/grids/{}/{}/{}.pbf".format(z, *tile_of(116.010, 39.020, z))
    far = "/tiles/areas/{}/{}/{}.pbf".format(z, *tile_of(80.05, 40.05, z))
    for path in (here, far):
        get_tile(world, path)
        assert get_tile(world, path)[1]["x-tile-cache"] == "hit"
    # a new version of grid 1, narrower and renamed, saved the way every door saves one
    old = db.execute(
        "UPDATE areas SET valid_to = now() WHERE code = %s AND valid_to IS NULL RETURNING id",
        (G1,),
    ).fetchone()["id"]
    db.execute(
        "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, valid_from) "
        "SELECT code, parent_code, '新名字', level, level_rank, ST_GeomFromText(%s, 4326), now() "
        "FROM areas WHERE id = %s",
        (box(116.0, 39.0, 116.02, 39.05), old),
    )
    db.commit()  # the statement triggers' NOTIFYs go out now
    settle(world, db)

    layers, headers = get_tile(world, here)
    assert headers["x-tile-cache"] == "miss"
    grids = {f["properties"]["code"]: f for f in layers["grids"]}
    assert grids[G1]["properties"]["name"] == "新名字"
    x, y = tile_of(116.010, 39.020, z)
    assert_geometries_equal(
        shapely.geometry.shape(grids[G1]["geometry"]),
        to_units(shapely.box(116.0, 39.0, 116.02, 39.05), z, x, y),
        tolerance=1.0,
        normalize=True,
    )
    assert get_tile(world, far)[1]["x-tile-cache"] == "hit"


def test_incident_tiles_expire_when_an_incident_falls_due(world: TestClient, db: Any) -> None:
    cache = world.app.state.tile_cache  # type: ignore[attr-defined]
    public_id = report(world, 116.010, 39.020)
    due = db.execute(
        "UPDATE incidents SET due_at = date_trunc('second', now()) + interval '2 hours' "
        "WHERE public_id = %s RETURNING extract(epoch FROM due_at) AS t",
        (public_id,),
    ).fetchone()["t"]
    db.commit()
    settle(world, db)
    z = 14
    x, y = tile_of(116.010, 39.020, z)
    layers, _ = get_tile(world, f"/tiles/incidents/{z}/{x}/{y}.pbf")
    assert layers["incidents"][0]["properties"]["overdue"] is False
    entry = cache.get(("incidents", "", z, x, y))
    assert entry is not None and entry.expires_at == float(due)


# --- the cache's own rules ------------------------------------------------------------------


def _entry(table: str = "areas", bbox: tuple[float, ...] = (0, 0, 1, 1), **kw: Any) -> CachedTile:
    return CachedTile(b"x", table, (bbox[0], bbox[1], bbox[2], bbox[3]), False, **kw)


def test_a_render_older_than_a_meeting_change_is_not_cached() -> None:
    cache = TileCache(10)
    try:
        since = cache.generation()
        cache.drop(("areas", (0.5, 0.5, 0.6, 0.6)))  # a save while the tile was being rendered
        assert not cache.put(("areas", "", 1, 0, 0), _entry(), since)
        assert cache.put(("areas", "", 1, 0, 1), _entry(bbox=(2, 2, 3, 3)), since)  # elsewhere
        assert cache.put(("incidents", "", 1, 0, 0), _entry("incidents"), since)  # other table
        assert cache.put(("areas", "", 1, 0, 0), _entry(), cache.generation())  # a fresh render
        assert cache.drop((None, (0.9, 0.9, 5, 5))) == 3  # None: every table
        assert len(cache) == 0
    finally:
        cache.close()


def test_a_pending_change_blocks_caching_until_its_commit_is_heard() -> None:
    cache = TileCache(10)
    try:
        cache.drop(("incidents", (0.5, 0.5, 0.5, 0.5)), pending="t1")
        key = ("incidents", "", 1, 0, 0)
        assert not cache.put(key, _entry("incidents"), cache.generation())
        assert cache.put(("areas", "", 1, 0, 0), _entry(), cache.generation())
        cache.apply_notification(json.dumps({"token": "t1", "table": "incidents", "bbox": None}))
        assert cache.wait_for_token("t1", timeout=0)
        assert cache.put(key, _entry("incidents"), cache.generation())
        cache.apply_notification("not json")  # ignored, logged
        assert key in cache
    finally:
        cache.close()


def test_lru_bound_and_expiry() -> None:
    cache = TileCache(2)
    try:
        g = cache.generation()
        for i in range(3):
            assert cache.put(("areas", "", 5, i, 0), _entry(), g)
            cache.get(("areas", "", 5, 0, 0))  # keep tile 0 recently used
        assert ("areas", "", 5, 0, 0) in cache and ("areas", "", 5, 1, 0) not in cache
        assert ("areas", "", 5, 2, 0) in cache
        assert cache.put(("incidents", "", 5, 0, 0), _entry("incidents", expires_at=1.0), g)
        assert cache.get(("incidents", "", 5, 0, 0)) is None  # its incident fell due long ago
        assert TileCache(0).put(("areas", "", 0, 0, 0), _entry(), 0) is False  # size 0: off
    finally:
        cache.close()
