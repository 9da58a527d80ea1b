"""OGC API – Features Parts 2 and 3 (CRS, queryables, CQL2 filter), sortby, OpenAPI 3.0, HTML.

Read with clients no one here wrote: owslib (api, queryables, filter, crs, sortby) and GDAL's
OAPIF driver (a server-side attribute filter, EPSG:4490 output), against the app under uvicorn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features
from pyogrio import raw
from pyproj import Transformer

from tests.conftest import wait_until_healthy
from tests.test_ogc import _free_port, report_all

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
G1, G2 = "110199001001001", "110199001001002"


def items(client: TestClient, collection: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/ogc/collections/{collection}/items", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def ids(doc: dict[str, Any]) -> list[str]:
    return [str(f["id"]) for f in doc["features"]]


def test_geometries_in_cgcs2000_and_gauss_kruger_axis_order(world: TestClient) -> None:
    plain = items(world, "areas-grid")
    r = world.get("/ogc/collections/areas-grid/items", params={"crs": EPSG + "4490"})
    assert r.headers["content-crs"] == f"<{EPSG}4490>"
    cgcs = r.json()
    for a, b in zip(plain["features"], cgcs["features"], strict=True):
        lonlat = a["geometry"]["coordinates"][0][0][0]
        latlon = b["geometry"]["coordinates"][0][0][0]
        assert latlon == pytest.approx([lonlat[1], lonlat[0]], abs=1e-7)  # lat, lon
    gk = world.get(f"/ogc/collections/areas-grid/items/{G1}", params={"crs": EPSG + "4547"})
    assert gk.headers["content-crs"] == f"<{EPSG}4547>"
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(116.0, 39.0)
    corners = [tuple(c) for c in gk.json()["geometry"]["coordinates"][0][0]]
    assert any(abs(n - y) < 0.01 and abs(e - x) < 0.01 for n, e in corners)  # northing first
    assert world.get("/ogc/collections/areas-grid/items").headers["content-crs"] == f"<{CRS84}>"


def test_bbox_in_another_crs_selects_the_same_features(world: TestClient) -> None:
    lonlat = items(world, "areas-grid", bbox="116.001,39.001,116.010,39.010")
    assert ids(lonlat) == [G1]
    to_gk = Transformer.from_crs(4326, 4547, always_xy=True)
    (e0, e1), (n0, n1) = to_gk.transform([116.001, 116.010], [39.001, 39.010])
    gk_box = f"{n0},{e0},{n1},{e1}"  # EPSG:4547 axis order: northing, easting
    assert ids(items(world, "areas-grid", bbox=gk_box, **{"bbox-crs": EPSG + "4547"})) == [G1]
    flipped = items(
        world, "areas-grid", bbox="39.001,116.001,39.010,116.010", **{"bbox-crs": EPSG + "4326"}
    )
    assert ids(flipped) == [G1]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("cql2-text", f"code = '{G2}'", [G2]),
        ("cql2-text", "name LIKE '%第1%'", [G1]),
        ("cql2-text", f"code IN ('{G1}', '{G2}') AND NOT (code = '{G1}')", [G2]),
        ("cql2-text", "parent_code = '110199001001' OR name IS NULL", [G1, G2]),
        ("cql2-text", "S_INTERSECTS(geometry, BBOX(116.03, 39.01, 116.04, 39.02))", [G2]),
        (
            "cql2-text",
            "S_INTERSECTS(geometry, POINT(116.01 39.02))",
            [G1],
        ),
        ("cql2-text", "valid_from > TIMESTAMP('2999-01-01T00:00:00Z')", []),
        ("cql2-json", json.dumps({"op": "=", "args": [{"property": "code"}, G1]}), [G1]),
        (
            "cql2-json",
            json.dumps({"op": "like", "args": [{"property": "name"}, "%网格"]}),
            [G1, G2],
        ),
        # a quote inside a literal stays a literal
        ("cql2-json", json.dumps({"op": "=", "args": [{"property": "name"}, "x' OR 1=1 --"]}), []),
    ],
)
def test_cql2_filters(world: TestClient, lang: str, text: str, expected: list[str]) -> None:
    doc = items(world, "areas-grid", filter=text, **{"filter-lang": lang})
    assert sorted(ids(doc)) == sorted(expected)
    assert doc["numberMatched"] == len(expected)


def test_filters_on_incidents_and_sortby(world: TestClient, db: Any) -> None:
    reported = report_all(world)
    db.execute("UPDATE incidents SET status = 'closed' WHERE public_id = %s", (reported[1],))
    db.commit()
    doc = items(world, "incidents", filter="status = 'closed'")
    assert ids(doc) == [reported[1]]
    assert ids(items(world, "incidents", status="closed")) == [reported[1]]  # as a parameter
    bad = world.get("/ogc/collections/incidents/items", params={"reported_at": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request"
    doc = items(world, "incidents", filter="category LIKE 'SJ%' OR category = 'SH0101'")
    assert sorted(ids(doc)) == sorted([reported[0], reported[2]])
    newest_first = items(world, "incidents", sortby="-reported_at,category")
    times = [f["properties"]["reported_at"] for f in newest_first["features"]]
    assert times == sorted(times, reverse=True) and len(times) == 3
    by_category = items(world, "incidents", sortby="+category")
    cats = [f["properties"]["category"] for f in by_category["features"]]
    assert cats == sorted(cats)
    paged = [items(world, "incidents", sortby="category", limit=1, offset=i) for i in range(3)]
    assert [ids(p)[0] for p in paged] == ids(by_category)  # stable pages


def test_queryables_document(world: TestClient) -> None:
    r = world.get("/ogc/collections/incidents/queryables")
    assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
    doc = r.json()
    assert doc["properties"]["status"] == {"type": "string"}
    assert doc["properties"]["reported_at"] == {"type": "string", "format": "date-time"}
    assert doc["properties"]["geometry"] == {"format": "geometry-point"}
    assert "reporter" not in doc["properties"] and "description" not in doc["properties"]
    links = world.get("/ogc/collections/incidents").json()["links"]
    assert any(ln["rel"].endswith("/queryables") for ln in links)


def test_openapi_30_of_the_ogc_subtree(world: TestClient) -> None:
    landing = world.get("/ogc").json()
    desc = next(ln for ln in landing["links"] if ln["rel"] == "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    r = world.get(desc["href"])
    doc = r.json()
    assert doc["openapi"] == "3.0.3" and doc["servers"][0]["url"].endswith("/ogc")
    assert "/collections/{collectionId}/items" in doc["paths"]
    assert all(not p.startswith("/api/") for p in doc["paths"])
    text = json.dumps(doc)
    assert '"type": "null"' not in text and '"const"' not in text
    params = {
        p["name"] for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    }
    assert {"bbox", "bbox-crs", "crs", "filter", "filter-lang", "sortby", "limit"} <= params


def test_html_encoding_escapes_and_links(world: TestClient, db: Any) -> None:
    db.execute("UPDATE buildings SET name = '<script>alert(1)</script>' WHERE source_id = 'b1'")
    db.commit()
    page = world.get("/ogc/collections/buildings/items?f=html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "符合条件 2" in page.text
    grids = world.get("/ogc/collections/areas-grid/items?f=html")
    assert f"items/{G1}?f=html" in grids.text
    assert "数据集" in world.get("/ogc/collections?f=html").text
    one = world.get(f"/ogc/collections/areas-grid/items/{G2}?f=html")
    assert one.status_code == 200 and G2 in one.text


def test_words_in_the_asked_language(world: TestClient) -> None:
    """The titles and descriptions GridGov writes (collections, links, the HTML pages' own
    words) are Chinese by default and English when asked; ids, data and links the same."""
    english = {"Accept-Language": "en"}
    zh, en = world.get("/ogc/collections").json(), world.get("/ogc/collections", headers=english)
    titles = {c["id"]: c["title"] for c in zh["collections"]}
    titles_en = {c["id"]: c["title"] for c in en.json()["collections"]}
    assert (titles["areas-grid"], titles_en["areas-grid"]) == ("网格", "Grids")
    assert (titles["buildings"], titles_en["buildings"]) == ("楼栋", "Buildings")
    grids = next(c for c in zh["collections"] if c["id"] == "areas-grid")
    assert grids["description"] == "现行网格边界；要素标识为区域编码。"
    assert {ln["title"] for ln in grids["links"]} >= {"本数据集", "要素（GeoJSON）"}
    hrefs = lambda d: [(c["id"], [ln["href"] for ln in c["links"]]) for c in d["collections"]]  # noqa: E731
    assert hrefs(zh) == hrefs(en.json())
    page = world.get("/ogc/collections/areas-grid/items?f=html&limit=1", headers=english).text
    assert '<html lang="en">' in page and "Matched" in page and "Next page" in page
    assert "符合条件" not in page and "下一页" not in world.get("/ogc?f=html", headers=english).text
    chinese = world.get("/ogc/collections/areas-grid/items?f=html&limit=1").text
    assert '<html lang="zh-CN">' in chinese and "下一页" in chinese
    item = world.get(f"/ogc/collections/areas-grid/items/{G1}", headers=english).json()
    assert {ln["title"] for ln in item["links"]} == {"This feature", "The collection"}


def test_errors_use_the_ogc_exception_form(world: TestClient) -> None:
    r = world.get("/ogc/collections/nowhere/items")
    assert r.status_code == 404
    assert set(r.json()) == {"code", "description"} and r.json()["code"] == "not_found"
    bad = world.get("/ogc/collections/areas-grid/items", params={"filter": "code ="})
    assert bad.status_code == 400 and "cql2-text" in bad.json()["description"]
    bowtie = "S_INTERSECTS(geometry, POLYGON((116 39, 117 40, 117 39, 116 40, 116 39)))"
    r = world.get("/ogc/collections/areas-grid/items", params={"filter": bowtie})
    assert r.status_code == 400 and "几何为空或无效" in r.json()["description"]  # zh_CN default
    english = {"Accept-Language": "en"}
    r = world.get("/ogc/collections/areas-grid/items", params={"filter": bowtie}, headers=english)
    assert r.status_code == 400 and "not valid" in r.json()["description"]
    r = world.get("/ogc/collections/nowhere/items")
    assert r.json()["description"] == "没有集合“nowhere”。GET /ogc/collections 可列出所有集合。"
    # the rest of the API keeps its envelope
    assert "error" in world.get("/api/v1/areas/000000").json()


@pytest.fixture
def logged_server(world_db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app under uvicorn in a subprocess with its access log in a file; yields (/ogc, log)."""
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_POOL_MIN": "1"}
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        root = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(proc, root, 120, log.read_text)
            yield f"{root}/ogc", log
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_owslib_reads_api_queryables_filter_crs_and_sortby(
    world: TestClient, logged_server: tuple[str, Path]
) -> None:
    url, _log = logged_server
    report_all(world)
    api = Features(url)
    assert api.api()["openapi"].startswith("3.0")
    assert (
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
        in api.conformance()["conformsTo"]
    )
    q = api.collection_queryables("incidents")
    assert "category" in q["properties"]
    got = api.collection_items("areas-grid", filter=f"code = '{G2}'")
    assert [f["id"] for f in got["features"]] == [G2]
    cgcs = api.collection_items("areas-grid", crs=EPSG + "4490", sortby=("code", "desc"))
    assert [f["id"] for f in cgcs["features"]] == [G2, G1]
    first = cgcs["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 38 < first[0] < 40 and 115 < first[1] < 117  # lat, lon


def test_gdal_sends_attribute_filters_to_the_server_and_reads_cgcs2000(
    world: TestClient, logged_server: tuple[str, Path]
) -> None:
    url, log = logged_server
    report_all(world)
    meta, _fids, geoms, fields = raw.read(
        f"OAPIF:{url}", layer="areas-grid", where=f"code = '{G2}'"
    )
    assert list(fields[list(meta["fields"]).index("code")]) == [G2]
    requests = log.read_text()
    # GDAL found `code` among the items parameters of the OpenAPI 3.0 document and let the server
    # filter (Part 3 queryables as query parameters)
    assert f"items?limit=1000&crs={CRS84}&code={G2}" in requests
    meta, _f, geoms, _v = raw.read(
        f"OAPIF:{url}", layer="areas-grid", CRS="EPSG:4490", where=f"code = '{G1}'"
    )
    assert "4490" in meta["crs"]
    g = shapely.from_wkb(geoms[0])
    assert 116.0 <= g.bounds[0] < 116.03 and 39.0 <= g.bounds[1] < 39.06  # GDAL gives x = lon
