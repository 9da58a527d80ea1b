"""Issue 15, hole 5: each input that answered 500 now gets a 4xx envelope and changes nothing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.areas_util import C1, G1, STRIP, counts, etag, grid_feature

WORLD = {
    "type": "Polygon",
    "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
}


def refused(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"code", "message", "details"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


def test_a_crs_without_a_transformation_to_wgs84_is_422(world: Any, db: Any) -> None:
    before = counts(db)
    r = world.get("/api/v1/locate", params={"lon": 500000, "lat": 4400000, "crs": "EPSG:2963"})
    err = refused(r, 422, "unsupported_crs")
    assert err["details"]["crs"] == "EPSG:2963"
    body = {
        "category": "SJ0102",
        "location": {"lon": 500000, "lat": 4400000, "crs": "EPSG:2963"},
    }
    refused(world.post("/api/v1/incidents", json=body), 422, "unsupported_crs")
    r = world.post(
        "/api/v1/locate", json={"lon": 500000, "lat": 4400000, "crs": "EPSG:2963"}
    )  # the POST form of locate, where there is one
    assert r.status_code in (405, 422), r.text
    assert counts(db) == before


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999",
        "limit=-99999999999999999999",
        "offset=99999999999999999999",
        "offset=-99999999999999999999",
        "offset=-1",
        "limit=0",
    ],
)
def test_huge_or_negative_ogc_paging_is_4xx(world: Any, query: str) -> None:
    r = world.get(f"/ogc/collections/incidents/items?{query}")
    assert 400 <= r.status_code < 500, r.text
    assert "error" in r.json() or "code" in r.json()


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/incidents/1/1180591620717411303424/0.pbf",
        "/tiles/incidents/1/0/1180591620717411303424.pbf",
        "/tiles/incidents/99999999999999999999/0/0.pbf",
        "/tiles/incidents/-1/0/0.pbf",
        "/tiles/incidents/1/-1/0.pbf",
        "/tiles/areas/1/1180591620717411303424/0.pbf",
    ],
)
def test_huge_tile_coordinates_are_4xx(world: Any, path: str) -> None:
    r = world.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


@pytest.mark.parametrize("cursor", ["\u00b2", "\u0661\u0662", "\uff11", "1\u00b2"])
def test_unicode_digits_in_a_cursor_are_400(world: Any, admin: Any, cursor: str) -> None:
    r = world.get("/api/v1/incidents", params={"cursor": cursor}, headers=admin)
    refused(r, 400, "bad_request")


def test_unicode_digits_in_last_event_id_are_400(world: Any, admin: Any) -> None:
    r = world.get("/api/v1/stream", headers={**admin, "Last-Event-ID": "\u00b2".encode()})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "2026-01-01"},
        {"from": "2026-01-01", "to": "9999-12-31"},
    ],
)
def test_stats_dates_out_of_range_are_4xx(world: Any, admin: Any, params: Any) -> None:
    for path in ("/api/v1/stats", "/api/v1/stats/flags", "/api/v1/stats/trend"):
        r = world.get(path, params=params, headers=admin)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


def test_a_40_digit_if_match_is_a_stale_version(world: Any, db: Any, admin: Any) -> None:
    before = counts(db)
    feature = {"type": "Feature", "geometry": None, "properties": {"name": "改名"}}
    headers = {**admin, "If-Match": '"' + "9" * 40 + '"'}
    refused(world.put(f"/api/v1/areas/{G1}", json=feature, headers=headers), 412, "stale_version")
    refused(world.delete(f"/api/v1/areas/{G1}", headers=headers), 412, "stale_version")
    assert counts(db) == before


def test_merge_versions_beyond_64_bits_are_4xx(world: Any, db: Any, admin: Any) -> None:
    before = counts(db)
    body = {"codes": [G1, C1 + "002"], "versions": {G1: 2**70, C1 + "002": -(2**70)}}
    r = world.post("/api/v1/areas/merge", json=body, headers=admin)
    assert 400 <= r.status_code < 500, r.text
    assert counts(db) == before


def test_a_whole_world_polygon_is_422(world: Any, db: Any, admin: Any) -> None:
    before = counts(db)
    feature = {"type": "Feature", "geometry": WORLD, "properties": {"name": "全世界"}}
    headers = {**admin, "If-Match": etag(world, G1)}
    r = world.post(f"/api/v1/areas/{G1}/preview", json=feature, headers=headers)
    assert r.status_code == 422, r.text
    r = world.put(f"/api/v1/areas/{G1}", json=feature, headers=headers)
    assert r.status_code == 422, r.text
    created = grid_feature(STRIP)
    created["geometry"] = WORLD
    r = world.post("/api/v1/areas", json=created, headers=admin)
    assert r.status_code == 422, r.text
    assert counts(db) == before


def nested(depth: int) -> str:
    """JSON text of `depth` objects inside each other (too deep for json.dumps to write)."""
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [40, 500, 5000])
def test_deeply_nested_attributes_are_refused(world: Any, db: Any, admin: Any, depth: int) -> None:
    before = counts(db)
    feature = orjson.dumps(grid_feature(STRIP)).decode()
    body = feature.replace('"properties":{', f'"properties":{{"attributes":{nested(depth)},', 1)
    headers = {**admin, "Content-Type": "application/json", "Accept-Language": "en"}
    r = world.post("/api/v1/areas", content=body.encode(), headers=headers)
    err = refused(r, 422 if depth < 1000 else 400)
    assert "nested" in err["message"], err  # the English message (Chinese by default)
    assert counts(db) == before


def test_shallow_attributes_are_still_saved(world: Any, admin: Any) -> None:
    feature = orjson.dumps(grid_feature(STRIP)).decode()
    body = feature.replace('"properties":{', f'"properties":{{"attributes":{nested(30)},', 1)
    headers = {**admin, "Content-Type": "application/json"}
    r = world.post("/api/v1/areas", content=body.encode(), headers=headers)
    assert r.status_code == 201, r.text
