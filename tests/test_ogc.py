"""OGC API – Features at /ogc: read by GDAL's OAPIF driver (as QGIS does) and checked over HTTP.

GDAL needs a real HTTP server. pyogrio holds the GIL while it reads features, so a uvicorn
thread in this process would never get to answer; the server runs as a subprocess instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from pyogrio import raw
from shapely.testing import assert_geometries_equal

from api.main import create_app
from gis.ogc import SOURCES, ItemQuery, items_page
from tests.conftest import settings_for, wait_until_healthy
from tests.world import AREAS, BUILDINGS, box

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
G1, G2 = "110199001001001", "110199001001002"
# (lon, lat, category): two in grid 1, one in street 002 (no grid)
REPORTS = [(116.010, 39.020, "SJ0102"), (116.020, 39.040, "BJ0101"), (116.070, 39.020, "SH0101")]
# The properties of an incident feature, in the order of its GDAL fields (after "id").
INCIDENT_PROPERTIES = [
    "category",
    "category_name",
    "status",
    "overdue",
    "grid",
    "reported_at",
    "updated_at",
    "due_at",
    "closed_at",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ogc_server(world_db: str) -> Iterator[str]:
    """`gridgov serve`'s app under uvicorn in a subprocess, on the world database; yields /ogc."""
    port = _free_port()
    env = {**os.environ, "GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_POOL_MIN": "1"}
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory"]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env
    )
    root = f"http://127.0.0.1:{port}"
    try:
        # a loaded CI machine starts slowly
        wait_until_healthy(proc, root, 120, lambda: "the server exited")
        yield f"{root}/ogc"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _report(client: TestClient, lon: float, lat: float, category: str) -> str:
    body = {"category": category, "description": "路边", "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def report_all(client: TestClient) -> list[str]:
    """Report REPORTS, in order; their ids."""
    return [_report(client, lon, lat, cat) for lon, lat, cat in REPORTS]


# A loaded CI machine can be slow to answer; GDAL should wait and retry rather than fail a read.
pyogrio.set_gdal_config_options(
    {"GDAL_HTTP_TIMEOUT": "60", "GDAL_HTTP_MAX_RETRY": "3", "GDAL_HTTP_RETRY_DELAY": "1"}
)


def _gdal(url: str, layer: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a layer through GDAL: its metadata, and columns `fid`, `geoms` and GDAL's fields."""
    meta, fids, wkb, values = raw.read(f"OAPIF:{url}", layer=layer, return_fids=True, **kwargs)
    fields = dict(zip(meta["fields"], values, strict=True))
    return meta, {"fid": fids, "geoms": shapely.from_wkb(wkb), **fields}


def _expected_areas(level: str) -> dict[str, shapely.Geometry]:
    return {c: shapely.from_wkt(box(*b)) for c, _, _, lvl, b in AREAS if lvl == level}


# --- GDAL -----------------------------------------------------------------------------------


def test_gdal_lists_and_reads_every_collection(world: TestClient, ogc_server: str, db: Any) -> None:
    ids = report_all(world)

    layers = pyogrio.list_layers(f"OAPIF:{ogc_server}")
    assert [str(n) for n, _ in layers] == [
        "areas-district",
        "areas-street",
        "areas-community",
        "areas-grid",
        "buildings",
        "incidents",
    ]

    for level in ("district", "street", "community", "grid"):
        meta, got = _gdal(ogc_server, f"areas-{level}")
        expected = _expected_areas(level)
        assert meta["geometry_type"] == "MultiPolygon"
        assert meta["crs"].endswith('AUTHORITY["OGC","CRS84"]]')
        assert sorted(got["code"]) == sorted(expected)
        assert list(got["id"]) == list(got["code"])
        for code, geom in zip(got["code"], got["geoms"], strict=True):
            assert_geometries_equal(geom, expected[code], tolerance=1e-7, normalize=True)
        assert set(got["level"]) == {level}

    meta, got = _gdal(ogc_server, "buildings")  # integer feature ids become GDAL's FIDs
    assert list(meta["fields"]) == [
        "name",
        "address",
        "households",
        "grid",
        "source",
        "source_id",
    ]
    by_source = {sid: (name, b, grid) for sid, name, b, grid in BUILDINGS}
    assert sorted(got["source_id"]) == sorted(by_source)
    assert sorted(got["fid"]) == sorted(r["id"] for r in db.execute("SELECT id FROM buildings"))
    for sid, name, grid, geom in zip(
        got["source_id"], got["name"], got["grid"], got["geoms"], strict=True
    ):
        exp_name, exp_box, exp_grid = by_source[sid]
        assert (name, grid) == (exp_name, exp_grid)
        assert_geometries_equal(geom, shapely.from_wkt(box(*exp_box)), tolerance=1e-7)

    meta, got = _gdal(ogc_server, "incidents")
    assert list(meta["fields"]) == ["id", *INCIDENT_PROPERTIES]
    assert meta["dtypes"][meta["fields"].tolist().index("reported_at")] == "datetime64[ms]"
    assert sorted(got["id"]) == sorted(ids)
    rows = {
        i: (c, g, p)
        for i, c, g, p in zip(got["id"], got["category"], got["grid"], got["geoms"], strict=True)
    }
    for public_id, (lon, lat, cat) in zip(ids, REPORTS, strict=True):
        category, grid, point = rows[public_id]
        assert category == cat
        assert grid == (G1 if lon < 116.05 else None)
        assert_geometries_equal(point, shapely.Point(lon, lat), tolerance=1e-7)
    assert set(got["status"]) == {"reported"}


def test_gdal_follows_next_links_and_forwards_bbox(world: TestClient, ogc_server: str) -> None:
    report_all(world)
    # one feature per page: every page after the first is reached through its `next` link
    _, got = _gdal(ogc_server, "incidents", PAGE_SIZE=1)
    assert len(got["id"]) == 3
    _, got = _gdal(ogc_server, "areas-district", PAGE_SIZE=1)
    assert sorted(got["code"]) == ["110199", "650199"]
    # a spatial filter is sent as bbox (and GDAL filters again on its side)
    _, got = _gdal(ogc_server, "areas-grid", bbox=(116.001, 39.001, 116.002, 39.002))
    assert list(got["code"]) == [G1]


# --- HTTP -----------------------------------------------------------------------------------


def test_landing_page_links_and_conformance(world: TestClient) -> None:
    r = world.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    rels = {(ln["rel"], ln["href"].removeprefix("http://testserver")) for ln in r.json()["links"]}
    assert {
        ("self", "/ogc"),
        ("service-desc", "/ogc/api"),
        ("service-doc", "/docs"),
        ("conformance", "/ogc/conformance"),
        ("data", "/ogc/collections"),
        ("http://www.opengis.net/def/rel/ogc/1.0/data", "/ogc/collections"),
    } <= rels
    conforms = set(world.get("/ogc/conformance").json()["conformsTo"])
    assert {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    } <= conforms
    assert world.get("/openapi.json").status_code == 200


def test_collection_metadata_extents_and_crs(world: TestClient, db: Any) -> None:
    _report(world, 116.010, 39.020, "SJ0102")
    db.execute("UPDATE incidents SET reported_at = '2026-03-01T08:00:00Z'")
    db.commit()
    _report(world, 116.070, 39.020, "SJ0102")
    docs = {c["id"]: c for c in world.get("/ogc/collections").json()["collections"]}
    grid = world.get("/ogc/collections/areas-grid").json()
    assert grid == docs["areas-grid"]
    assert grid["itemType"] == "feature" and grid["crs"][0] == CRS84
    assert {EPSG + "4326", EPSG + "4490", EPSG + "3857", EPSG + "4547"} <= set(grid["crs"])
    assert grid["storageCrs"] == CRS84
    assert grid["extent"]["spatial"]["bbox"] == [[116.0, 39.0, 116.049, 39.05]]
    items = [ln for ln in grid["links"] if ln["rel"] == "items"]
    assert [(ln["href"], ln["type"]) for ln in items] == [
        ("http://testserver/ogc/collections/areas-grid/items", "application/geo+json"),
        ("http://testserver/ogc/collections/areas-grid/items?f=html", "text/html"),
    ]
    assert docs["areas-district"]["extent"]["spatial"]["bbox"] == [[80.0, 39.0, 116.1, 40.1]]
    temporal = docs["incidents"]["extent"]["temporal"]["interval"]
    assert temporal[0][0] == "2026-03-01T08:00:00Z" and temporal[0][1] > "2026-03-01"
    assert docs["incidents"]["extent"]["spatial"]["bbox"] == [[116.01, 39.02, 116.07, 39.02]]


def test_only_levels_present_are_collections(empty_db: str) -> None:
    with TestClient(create_app(settings_for(empty_db))) as client:
        ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
        assert ids == ["buildings", "incidents"]
        r = client.get("/ogc/collections/areas-grid/items")
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        empty = client.get("/ogc/collections/buildings/items").json()
        assert (empty["numberMatched"], empty["numberReturned"], empty["features"]) == (0, 0, [])
        assert "extent" not in client.get("/ogc/collections/buildings").json()


def _rel(doc: dict[str, Any], rel: str) -> str | None:
    hrefs = [ln["href"] for ln in doc["links"] if ln["rel"] == rel]
    assert len(hrefs) <= 1
    return hrefs[0] if hrefs else None


def test_paging_with_next_and_prev_links(world: TestClient) -> None:
    r = world.get("/ogc/collections/areas-grid/items", params={"limit": 1})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    first = r.json()
    assert (first["numberMatched"], first["numberReturned"]) == (2, 1)
    assert [f["id"] for f in first["features"]] == [G1]
    assert _rel(first, "prev") is None
    nxt = _rel(first, "next")
    assert nxt is not None and parse_qs(urlsplit(nxt).query) == {"limit": ["1"], "offset": ["1"]}
    second = world.get(nxt).json()
    assert [f["id"] for f in second["features"]] == [G2]
    assert _rel(second, "next") is None
    prev = _rel(second, "prev")
    assert prev == "http://testserver/ogc/collections/areas-grid/items?limit=1"
    past = world.get("/ogc/collections/areas-grid/items", params={"offset": 5}).json()
    assert (past["numberMatched"], past["numberReturned"], past["features"]) == (2, 0, [])


def test_past_the_count_cap_number_matched_is_left_out_and_next_follows_full_pages(
    world: TestClient, db: Any
) -> None:
    buildings = SOURCES["buildings"]  # the world holds two
    with db.transaction():
        page = items_page(
            db, buildings, ItemQuery(limit=1), links=[], next_link={"rel": "next"}, count_cap=1
        )
    first = json.loads(page)
    assert "numberMatched" not in first and first["numberReturned"] == 1
    assert first["links"] == [{"rel": "next"}]  # a full page: more may follow
    with db.transaction():
        page = items_page(
            db, buildings, ItemQuery(limit=1, offset=2), links=[], next_link={"rel": "next"}
        )
    past = json.loads(page)  # under the default cap: counted, and nothing follows
    assert (past["numberMatched"], past["numberReturned"], past["links"]) == (2, 0, [])


def test_items_bbox_and_links_keep_the_filter(world: TestClient) -> None:
    bbox = "116.001,39.001,116.002,39.002"
    doc = world.get("/ogc/collections/areas-grid/items", params={"bbox": bbox}).json()
    assert [f["id"] for f in doc["features"]] == [G1] and doc["numberMatched"] == 1
    assert parse_qs(urlsplit(_rel(doc, "self") or "").query)["bbox"] == [bbox]
    doc = world.get("/ogc/collections/areas-community/items", params={"bbox": "80,40,81,41"})
    assert doc.json()["numberMatched"] == 0
    bad = world.get("/ogc/collections/areas-grid/items", params={"bbox": "1,2,3"})
    assert bad.status_code == 400


def test_incidents_datetime_and_public_fields_only(world: TestClient, db: Any) -> None:
    ids = report_all(world)
    for public_id, when in zip(
        ids, ["2026-03-01T08:00:00Z", "2026-03-02T08:00:00Z", "2026-03-05T08:00:00Z"], strict=True
    ):
        db.execute("UPDATE incidents SET reported_at = %s WHERE public_id = %s", (when, public_id))
    db.commit()

    def found(datetime: str) -> list[str]:
        r = world.get("/ogc/collections/incidents/items", params={"datetime": datetime})
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]]

    assert found("2026-03-01T08:00:00Z/2026-03-02T08:00:00Z") == ids[:2]
    assert found("../2026-03-01T23:59:59Z") == ids[:1]
    assert found("2026-03-02T00:00:00Z/..") == ids[1:]
    assert found("2026-03-05") == ids[2:]  # a date is that whole day (Asia/Shanghai)
    assert found("2026-03-02T08:00:00Z") == ids[1:2]
    assert found("2026-03-02T16:00:00+08:00") == ids[1:2]
    for bad in ("yesterday", "2026-03-05/2026-03-01", "a/b/c"):
        r = world.get("/ogc/collections/incidents/items", params={"datetime": bad})
        assert r.status_code == 400, bad
    r = world.get("/ogc/collections/areas-grid/items", params={"datetime": "2026-03-05"})
    assert r.status_code == 400

    feature = world.get(f"/ogc/collections/incidents/items/{ids[0]}").json()
    assert set(feature["properties"]) == set(INCIDENT_PROPERTIES)
    assert feature["properties"]["category"] == "SJ0102"
    assert feature["properties"]["category_name"] == "暴露垃圾"
    assert "路边" not in str(feature)


def test_single_features_and_404s(world: TestClient) -> None:
    r = world.get(f"/ogc/collections/areas-grid/items/{G2}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "Feature" and doc["id"] == G2
    assert doc["properties"]["name"] == "一社区第2网格"
    assert_geometries_equal(
        shapely.geometry.shape(doc["geometry"]),
        _expected_areas("grid")[G2],
        tolerance=1e-7,
    )
    assert {ln["rel"] for ln in doc["links"]} == {"self", "collection"}
    bid = world.get("/ogc/collections/buildings/items").json()["features"][0]["id"]
    assert world.get(f"/ogc/collections/buildings/items/{bid}").json()["id"] == bid
    for path in (
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/areas-grid/items/110199",  # a district is not in the grid collection
        "/ogc/collections/buildings/items/abc",
        "/ogc/collections/buildings/items/999999",
        "/ogc/collections/incidents/items/20260101-000001",
    ):
        r = world.get(path)
        assert r.status_code == 404, path
        assert r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 10_001}, 400),
        ({"limit": 0}, 400),
        ({"offset": -1}, 400),
        ({"limit": 10_000}, 200),
        ({"f": "html"}, 200),
        ({"f": "xml"}, 400),
        ({"sortby": "name"}, 200),
        ({"sortby": "-households"}, 400),  # not a queryable of areas
        ({"sortby": "geometry"}, 400),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"}, 200),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/2000"}, 400),
        ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/9999", "bbox": "1,2,3,4"}, 400),
        ({"filter": "name = "}, 400),
        ({"filter": "nosuch = 1"}, 400),
        ({"filter": "name = 1"}, 400),
        ({"filter": "name = 'x'", "filter-lang": "sql"}, 400),
        ({"crs": CRS84}, 200),
    ],
)
def test_items_parameters(world: TestClient, params: dict[str, Any], status: int) -> None:
    r = world.get("/ogc/collections/areas-grid/items", params=params)
    assert r.status_code == status, r.text
    if status == 400:  # the OGC exception form (Part 1, 7.5)
        assert r.json()["code"] == "bad_request" and r.json()["description"]


def test_content_negotiation(world: TestClient) -> None:
    url = "/ogc/collections/areas-grid/items"
    assert world.get(url, params={"f": "json"}).headers["content-type"] == "application/geo+json"
    r = world.get(url, headers={"Accept": "application/json"})
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-crs"] == f"<{CRS84}>"
    r = world.get(url, headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.json()["code"] == "not_acceptable"
    r = world.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})  # a browser
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    r = world.get("/ogc/collections", headers={"Accept": "*/*"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    r = world.get("/ogc/collections/areas-grid/schema")
    assert r.headers["content-type"] == "application/schema+json"
    assert "code" in r.json()["properties"]["properties"]["properties"]


def test_default_page_size_is_a_setting(world_db: str) -> None:
    settings = settings_for(world_db)
    settings.ogc.default_limit = 1
    with TestClient(create_app(settings)) as client:
        doc = client.get("/ogc/collections/areas-district/items").json()
        assert (doc["numberMatched"], doc["numberReturned"]) == (2, 1)
