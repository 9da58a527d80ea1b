"""A bad-input battery through the real API: each bad request is a clear 4xx with the error
envelope and leaves the database exactly as it was; hostile text is stored verbatim as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.areas_util import C1, G1, STRIP, grid_feature

TABLES = ("incidents", "incident_events", "areas", "users", "incident_supports")
HOSTILE = [
    "'; DROP TABLE incidents; --",
    '" OR 1=1 --',
    "1); DELETE FROM areas WHERE (1=1",
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "{{7*7}} ${7*7} %(x)s %s",
    "Robert'); SELECT pg_sleep(10);--",
    "换行\n制表\t引号\"'反斜杠\\",
]
POINT = {"lon": 116.01, "lat": 39.02}


def snapshot(db: Any) -> dict[str, int]:
    """Row counts of the tables a request could write."""
    return {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}  # noqa: S608


@contextmanager
def writes_nothing(db: Any) -> Iterator[None]:
    """The block (a refused request) leaves every table as it was."""
    before = snapshot(db)
    yield
    assert snapshot(db) == before


def refused(r: Any, status: int | tuple[int, ...], code: str | None = None) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text)
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"code", "message", "details"} and err["message"]
    assert "Traceback" not in err["message"] and "psycopg" not in err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


def raw(client: TestClient, method: str, url: str, body: bytes, **headers: str) -> Any:
    return client.request(
        method, url, content=body, headers={"Content-Type": "application/json", **headers}
    )


# --- reports ---------------------------------------------------------------------------------

REPORT_RAW = [
    ("truncated", b'{"category": "SJ0102", "location": ', 400, "malformed_json"),
    ("empty", b"", (400, 422), None),
    ("array", b"[1, 2, 3]", 422, "validation_failed"),
    ("string", b'"report"', 422, "validation_failed"),
    ("nan", b'{"category": "SJ0102", "location": {"lon": NaN, "lat": 39.02}}', (400, 422), None),
    (
        "infinity",
        b'{"category": "SJ0102", "location": {"lon": Infinity, "lat": 39.02}}',
        (400, 422),
        None,
    ),
    (
        "neg-infinity",
        b'{"category": "SJ0102", "location": {"lon": 116.01, "lat": -Infinity}}',
        (400, 422),
        None,
    ),
    (
        "huge-number",
        b'{"category": "SJ0102", "location": {"lon": 1e400, "lat": 39}}',
        (400, 422),
        None,
    ),
]

REPORT_JSON = [
    ("category-number", {"category": 123, "location": POINT}, "validation_failed"),
    ("location-list", {"category": "SJ0102", "location": [116.01, 39.02]}, "validation_failed"),
    (
        "description-object",
        {"category": "SJ0102", "location": POINT, "description": {"a": 1}},
        "validation_failed",
    ),
    ("lat-out-of-range", {"category": "SJ0102", "location": {"lon": 116.01, "lat": 95}}, None),
    ("lon-out-of-range", {"category": "SJ0102", "location": {"lon": 200, "lat": 39.02}}, None),
    (
        "swapped",
        {"category": "SJ0102", "location": {"lon": 39.02, "lat": 116.01}},
        "invalid_coordinates",
    ),
    ("empty-point", {"category": "SJ0102", "location": {"type": "Point", "coordinates": []}}, None),
    (
        "geometry-collection",
        {
            "category": "SJ0102",
            "location": {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": [116.01, 39.02]}],
            },
        },
        None,
    ),
    ("unknown-category", {"category": "ZZ9999", "location": POINT}, "unknown_category"),
    ("injection-category", {"category": "SJ0102' OR '1'='1", "location": POINT}, None),
    ("nul-in-text", {"category": "SJ0102", "location": POINT, "description": "a\u0000b"}, None),
    ("unknown-crs", {"category": "SJ0102", "location": {**POINT, "crs": "EPSG:999999"}}, None),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "code"), REPORT_RAW, ids=[r[0] for r in REPORT_RAW]
)
def test_raw_report_bodies(
    world: TestClient, db: Any, name: str, body: bytes, status: Any, code: Any
) -> None:
    with writes_nothing(db):
        refused(raw(world, "POST", "/api/v1/incidents", body), status, code)


@pytest.mark.parametrize(("name", "body", "code"), REPORT_JSON, ids=[r[0] for r in REPORT_JSON])
def test_bad_report_values(world: TestClient, db: Any, name: str, body: Any, code: Any) -> None:
    with writes_nothing(db):
        refused(world.post("/api/v1/incidents", json=body), (400, 422), code)


def test_oversized_report_is_413(world: TestClient, db: Any) -> None:
    body = json.dumps({"category": "SJ0102", "location": POINT, "description": "x" * 5_000_000})
    with writes_nothing(db):
        refused(raw(world, "POST", "/api/v1/incidents", body.encode()), 413, "body_too_large")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_in_every_report_field_is_stored_verbatim(
    world: TestClient, db: Any, admin: dict[str, str], text: str
) -> None:
    before = snapshot(db)
    body = {
        "category": "SJ0102",
        "location": POINT,
        "description": text,
        "reporter": {"name": text[:50], "phone": text[:30]},
    }
    r = world.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    after = snapshot(db)
    assert after["incidents"] == before["incidents"] + 1
    assert after["incident_events"] == before["incident_events"] + 1
    doc = world.get(f"/api/v1/incidents/{r.json()['id']}", headers=admin).json()
    assert doc["description"] == text
    assert doc["reporter"]["name"] == text[:50] and doc["reporter"]["phone"] == text[:30]
    assert db.execute("SELECT count(*) AS n FROM areas").fetchone()["n"] == before["areas"]
    # the workflow note too
    note = world.post(
        f"/api/v1/incidents/{r.json()['id']}/actions",
        json={"action": "register", "note": text},
        headers=admin,
    )
    assert note.status_code == 200, note.text
    assert note.json()["events"][-1]["note"] == text


# --- areas -----------------------------------------------------------------------------------


def bowtie() -> dict[str, Any]:
    x0, y0, x1, y1 = STRIP
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}


def many_vertices(n: int) -> dict[str, Any]:
    x0, y0, x1, y1 = STRIP
    edge = [[x0, y0 + (y1 - y0) * i / n] for i in range(n)]
    return {"type": "Polygon", "coordinates": [[*edge, [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]}


AREA_GEOMETRIES = [
    ("self-intersecting", bowtie(), 422, "topology_error"),
    ("25k-vertices", many_vertices(25_000), 422, "geometry_too_large"),
    ("empty-polygon", {"type": "Polygon", "coordinates": []}, 422, None),
    ("empty-ring", {"type": "Polygon", "coordinates": [[]]}, 422, None),
    ("point", {"type": "Point", "coordinates": [116.01, 39.02]}, 422, "invalid_geometry"),
    (
        "geometry-collection",
        {"type": "GeometryCollection", "geometries": [bowtie()]},
        422,
        "invalid_geometry",
    ),
    (
        "out-of-range",
        {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 95], [0, 0]]]},
        422,
        None,
    ),
    ("coordinates-strings", {"type": "Polygon", "coordinates": "116,39"}, 422, None),
]


@pytest.mark.parametrize(
    ("name", "geometry", "status", "code"), AREA_GEOMETRIES, ids=[a[0] for a in AREA_GEOMETRIES]
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bad_area_geometries(
    world: TestClient,
    db: Any,
    admin: dict[str, str],
    method: str,
    name: str,
    geometry: Any,
    status: int,
    code: Any,
) -> None:
    feature = grid_feature(STRIP)
    feature["geometry"] = geometry
    with writes_nothing(db):
        if method == "POST":
            r = world.post("/api/v1/areas", json=feature, headers=admin)
        else:
            tag = world.get(f"/api/v1/areas/{G1}").headers["etag"]
            r = world.put(f"/api/v1/areas/{G1}", json=feature, headers={**admin, "If-Match": tag})
        refused(r, status, code)


def test_million_vertex_polygon_is_refused_before_parsing(
    world: TestClient, db: Any, admin: dict[str, str]
) -> None:
    ring = ",".join(f"[116.0{i % 10},39.0{i % 7}]" for i in range(1_000_000))
    body = (
        '{"type":"Feature","properties":{"name":"x","parent_code":"' + C1 + '"},'
        '"geometry":{"type":"Polygon","coordinates":[[' + ring + "]]}}"
    ).encode()
    with writes_nothing(db):
        refused(raw(world, "POST", "/api/v1/areas", body, **admin), 413, "body_too_large")


def test_nan_in_area_geometry(world: TestClient, db: Any, admin: dict[str, str]) -> None:
    body = (
        '{"type":"Feature","properties":{"name":"x","parent_code":"' + C1 + '"},'
        '"geometry":{"type":"Polygon","coordinates":[[[116.049,39.0],[NaN,39.0],'
        "[116.05,39.05],[116.049,39.0]]]}}"
    ).encode()
    with writes_nothing(db):
        refused(raw(world, "POST", "/api/v1/areas", body, **admin), (400, 422))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_area_name_and_note_are_stored_verbatim(
    world: TestClient, db: Any, admin: dict[str, str], text: str
) -> None:
    before = snapshot(db)
    r = world.post("/api/v1/areas", json=grid_feature(STRIP, text[:100], note=text), headers=admin)
    assert r.status_code == 201, r.text
    assert snapshot(db)["areas"] == before["areas"] + 1
    code = r.json()["properties"]["code"]
    got = world.get(f"/api/v1/areas/{code}").json()["properties"]
    assert got["name"] == text[:100]
    history = world.get(f"/api/v1/areas/{code}/history").json()["features"]
    assert history[-1]["properties"]["note"] == text
