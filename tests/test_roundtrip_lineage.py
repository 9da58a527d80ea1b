"""Boundaries read from GridGov's doors save back unchanged; split and merge keep lineage.

The round trip uses real data: the OSM-derived Haidian demo hierarchy written to a GeoPackage in a
Gauss-Krüger projection (CGCS2000 zone CM 117E, EPSG:4547) and imported back, which gives the
full-precision doubles a surveyed file gives (the issue's NYC districts came in EPSG:2263).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from psycopg.rows import dict_row
from pyogrio.raw import read as ogr_read
from pyogrio.raw import write as ogr_write
from pyproj import Transformer
from shapely.geometry import mapping, shape
from typer.testing import CliRunner

from api.cli import app
from api.main import create_app
from api.services.demo import DATA_DIR, LEVEL_FILES
from api.services.identity.auth import add_user, create_token
from tests.areas_util import C1, G1, G2, etag, versions
from tests.conftest import settings_for

GRID = "110108010002002"


def gk_file(level_file: str, out: Path) -> Path:
    """A demo layer re-projected to EPSG:4547 (metres, to the millimetre) as a GeoPackage."""
    features = json.loads((DATA_DIR / level_file).read_text(encoding="utf-8"))["features"]
    t = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    geoms = [
        # surveyed to the millimetre: metres with 3 decimals, so no longer on a 1e-7° grid
        shapely.transform(
            shape(f["geometry"]), lambda xy: np.round(np.column_stack(t.transform(*xy.T)), 3)
        )
        for f in features
    ]
    names = ["code", "name", "parent_code"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ogr_write(
            out,
            np.array(shapely.to_wkb(geoms), dtype=object),
            [np.array([f["properties"].get(n) for f in features], dtype=object) for n in names],
            names,
            geometry_type="MultiPolygon",
            crs="EPSG:4547",
            driver="GPKG",
        )
    return out


@pytest.fixture
def surveyed(empty_db: str, tmp_path: Path) -> Any:
    """The demo hierarchy imported from EPSG:4547 files; an HTTP client and an admin header."""
    for level, name in LEVEL_FILES:
        path = gk_file(name, tmp_path / f"{level}.gpkg")
        r = CliRunner().invoke(
            app,
            ["import", "areas", str(path), "--level", level],
            env={"GRIDGOV_DATABASE_URL": empty_db},
        )
        assert r.exit_code == 0, r.output
    with psycopg.connect(empty_db, row_factory=dict_row) as conn:
        add_user(conn, "boss", "admin", None, None)
        headers = {"Authorization": f"Bearer {create_token(conn, 'boss')}"}
    with TestClient(create_app(settings_for(empty_db))) as client:
        yield client, headers, empty_db


def stored(url: str, code: str) -> Any:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT ST_AsBinary(geom) AS g FROM areas WHERE code = %s AND valid_to IS NULL", (code,)
        ).fetchone()
    return shapely.from_wkb(bytes(row["g"]))


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM areas").fetchone()[0])  # type: ignore[index]


def test_served_boundaries_are_the_stored_doubles(surveyed: Any) -> None:
    client, _headers, url = surveyed
    exact = stored(url, GRID)
    assert any(len(repr(x)) > 12 for x in shapely.get_coordinates(exact).ravel())  # full doubles
    doors = [
        client.get(f"/api/v1/areas/{GRID}").json()["geometry"],
        client.get("/api/v1/areas", params={"parent": GRID[:12]}).json()["features"][1]["geometry"],
        client.get(f"/api/v1/areas/{GRID}/history").json()["features"][-1]["geometry"],
        client.get(f"/ogc/collections/areas-grid/items/{GRID}").json()["geometry"],
    ]
    for doc in doors:
        assert shapely.equals_exact(shape(doc), exact, tolerance=0), doc


def test_unchanged_put_is_200_with_no_change_and_a_vertex_edit_saves(surveyed: Any) -> None:
    client, headers, url = surveyed
    before = count(url)
    for door in (f"/api/v1/areas/{GRID}", f"/ogc/collections/areas-grid/items/{GRID}"):
        got = client.get(door).json()
        tag = client.get(f"/api/v1/areas/{GRID}").headers["etag"]
        feature = {"type": "Feature", "geometry": got["geometry"], "properties": {}}
        r = client.post(f"/api/v1/areas/{GRID}/preview", json=feature, headers=headers)
        assert r.status_code == 200, r.text
        r = client.put(f"/api/v1/areas/{GRID}", json=feature, headers={**headers, "If-Match": tag})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == tag and r.json()["warnings"]["features"] == []
        r = client.put(
            f"/api/v1/areas/{GRID}?fix=snap", json=feature, headers={**headers, "If-Match": tag}
        )
        assert r.status_code == 200, r.text
        fix = r.json()["fix"]
        assert fix["area_removed_m2"] == 0 and fix["siblings_m2"] == {}
        assert r.headers["etag"] == tag
    assert count(url) == before

    # move one convex corner 1 m inwards: the new shape lies inside the old one
    geom = shape(client.get(f"/api/v1/areas/{GRID}").json()["geometry"])
    ring = list(geom.geoms[0].exterior.coords)
    centre = geom.representative_point()
    for i in range(1, len(ring) - 1):
        x, y = ring[i]
        step = 1e-5 / max(abs(centre.x - x), abs(centre.y - y))
        ring[i] = (x + (centre.x - x) * step, y + (centre.y - y) * step)
        edited = shapely.MultiPolygon([shapely.Polygon(ring)])
        if edited.is_valid and geom.covers(edited):
            break
        ring[i] = (x, y)
    else:
        pytest.fail("no convex corner")
    tag = client.get(f"/api/v1/areas/{GRID}").headers["etag"]
    r = client.put(
        f"/api/v1/areas/{GRID}",
        json={"type": "Feature", "geometry": mapping(edited), "properties": {}},
        headers={**headers, "If-Match": tag},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] != tag and count(url) == before + 1
    assert shapely.equals_exact(stored(url, GRID), edited, tolerance=0)


def test_merged_and_split_areas_history_with_lineage(world, db, admin):  # type: ignore[no-untyped-def]
    line = {"type": "LineString", "coordinates": [[116.0125, 38.99], [116.0125, 39.06]]}
    r = world.post(
        f"/api/v1/areas/{G1}/split",
        json={"type": "Feature", "geometry": line},
        headers={**admin, "If-Match": etag(world, G1)},
    )
    assert r.status_code == 200, r.text
    west, east = (f["id"] for f in r.json()["features"])
    g1_version = db.execute("SELECT id FROM areas WHERE code = %s", (G1,)).fetchone()["id"]
    for f in r.json()["features"]:
        assert f["properties"]["derived_from"] == [g1_version]
    east_v, g2_v = (int(etag(world, c).strip('"')) for c in (east, G2))
    r = world.post(
        "/api/v1/areas/merge",
        json={"codes": [east, G2]},
        headers={**admin, "If-Match": f'"{east_v}", "{g2_v}"'},
    )
    assert r.status_code == 200, r.text
    merged = r.json()["features"][0]["id"]
    db.commit()

    plain = world.get(f"/api/v1/areas/{merged}/history").json()
    assert [f["id"] for f in plain["features"]] == [merged]
    assert plain["features"][0]["properties"]["derived_from"] == sorted([east_v, g2_v])

    r = world.get(f"/api/v1/areas/{merged}/history", params={"lineage": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    depth = {f["id"]: f["properties"]["lineage_depth"] for f in body["features"]}
    assert depth == {merged: 0, east: 1, G2: 1, G1: 2}
    assert [f["id"] for f in body["features"]] == [G2, G1, east, merged]  # oldest first
    assert body["lineage"] == [
        {"code": G1, "depth": 2},
        {"code": G2, "depth": 1},
        {"code": east, "depth": 1},
        {"code": merged, "depth": 0},
    ]
    # the split grid's story goes forward to its pieces and what they became
    r = world.get(f"/api/v1/areas/{G1}/history", params={"lineage": "true"})
    depth = {f["id"]: f["properties"]["lineage_depth"] for f in r.json()["features"]}
    assert depth == {G1: 0, west: -1, east: -1, merged: -2}
    assert world.get(f"/api/v1/areas/{C1}999/history?lineage=true").status_code == 404
    assert versions(db) == 8 + 2 + 1


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".csv"])
def test_exported_boundaries_are_the_stored_doubles(
    surveyed: Any, tmp_path: Path, suffix: str
) -> None:
    _client, _headers, url = surveyed
    out = tmp_path / f"grids{suffix}"
    r = CliRunner().invoke(
        app,
        ["export", "areas", str(out), "--level", "grid"],
        env={"GRIDGOV_DATABASE_URL": url},
    )
    assert r.exit_code == 0, r.output
    options = {"KEEP_GEOM_COLUMNS": "NO"} if suffix == ".csv" else {}
    meta, _f, wkb, values = ogr_read(out, **options)
    codes = list(dict(zip(meta["fields"], values, strict=True))["code"])
    got = shapely.from_wkb(wkb[codes.index(GRID)])
    if got.geom_type == "Polygon":  # a Shapefile does not tell polygons from multipolygons
        got = shapely.MultiPolygon([got])
    # normalized: a Shapefile turns outer rings clockwise; the doubles themselves must not move
    assert shapely.equals_exact(
        shapely.normalize(got), shapely.normalize(stored(url, GRID)), tolerance=0
    )
