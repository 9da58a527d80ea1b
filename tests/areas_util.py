"""Shared helpers of the boundary-editing tests (world of tests/world.py)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from shapely.testing import assert_geometries_equal

G1, G2 = "110199001001001", "110199001001002"
C1, C2 = "110199001001", "110199001002"
G3 = C1 + "003"
STRIP = (116.049, 39.00, 116.05, 39.05)


def counts(db: Any) -> tuple[int, int, int]:
    """(incidents, incident events, areas) rows now: what a refused request must leave alone."""
    row = db.execute(
        "SELECT (SELECT count(*) FROM incidents) AS i, (SELECT count(*) FROM incident_events) AS e,"
        " (SELECT count(*) FROM areas) AS a"
    ).fetchone()
    return row["i"], row["e"], row["a"]


def read(db: Any, query: str, *params: Any) -> list[Any]:
    """The rows of `query`, its transaction ended at once so that later reads see the app's
    writes."""
    rows = db.execute(query, params).fetchall()
    db.commit()
    return list(rows)


def poly(x0, y0, x1, y1):  # type: ignore[no-untyped-def]
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def grid_feature(b, name="新网格", **props):  # type: ignore[no-untyped-def]
    return {
        "type": "Feature",
        "geometry": poly(*b),
        "properties": {"name": name, "parent_code": C1, **props},
    }


def assert_shape(doc, expected, tolerance=1e-12):  # type: ignore[no-untyped-def]
    """GeoJSON geometry equals `expected` (a one-part MultiPolygon counts as its polygon)."""
    got = shape(doc)
    if got.geom_type == "MultiPolygon" and len(got.geoms) == 1:
        got = got.geoms[0]
    assert_geometries_equal(got, expected, normalize=True, tolerance=tolerance)


def reshape(client, headers, code, geometry):  # type: ignore[no-untyped-def]
    """PUT a new geometry for area `code` over its current version (If-Match); the response."""
    return client.put(
        f"/api/v1/areas/{code}",
        json={"type": "Feature", "geometry": geometry, "properties": {}},
        headers={**headers, "If-Match": etag(client, code)},
    )


def etag(client, code):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/areas/{code}")
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def geo_area(db, b):  # type: ignore[no-untyped-def]
    return db.execute(
        "SELECT ST_Area(ST_MakeEnvelope(%s, %s, %s, %s, 4326)::geography) AS a", b
    ).fetchone()["a"]


def versions(db, code=None):  # type: ignore[no-untyped-def]
    if code is None:
        return db.execute("SELECT count(*) AS n FROM areas").fetchone()["n"]
    return db.execute("SELECT count(*) AS n FROM areas WHERE code = %s", (code,)).fetchone()["n"]


def problems(r):  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "topology_error"
    return err["details"]["problems"]["features"]
