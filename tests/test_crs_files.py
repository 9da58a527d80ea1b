"""Coordinate systems at every door: files in local projections (and in feet), files with no CRS,
reports in a Gauss-Krüger zone, and GeoJSON lists served in the CRS asked for."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from psycopg.rows import dict_row
from pyogrio.raw import write as ogr_write
from pyproj import Transformer
from shapely.geometry import MultiPolygon, box
from typer.testing import CliRunner

from api.cli import app

G1, G2 = "110199001001001", "110199001001002"
C2 = "110199001002"  # the world's community without grids: [116.00,39.05]-[116.05,39.10]
US_SURVEY_FOOT_M = 1200 / 3937


def run(url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def rows(url: str, query: str, params=()):  # type: ignore[no-untyped-def]
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def project(geom, source: str, target: str):  # type: ignore[no-untyped-def]
    t = Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(*xy.T)))


def write(path: Path, geoms, fields: dict[str, list], crs: str | None) -> Path:  # type: ignore[no-untyped-def]
    driver = {".shp": "ESRI Shapefile", ".csv": "CSV", ".gpkg": "GPKG"}[path.suffix]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no CRS": that is the point when None
        ogr_write(
            path,
            np.array(shapely.to_wkb(geoms), dtype=object),
            [np.array(v, dtype=object) for v in fields.values()],
            list(fields),
            geometry_type="MultiPolygon",
            crs=crs,
            driver=driver,
            layer_options={"GEOMETRY": "AS_WKT"} if driver == "CSV" else None,
        )
    return path


def stored(url: str, code: str):  # type: ignore[no-untyped-def]
    row = rows(url, "SELECT ST_AsBinary(geom) AS g FROM areas WHERE code = %s", (code,))[0]
    return shapely.from_wkb(row["g"])


# --- imports -------------------------------------------------------------------------------


def test_state_plane_feet_shapefile_is_read_in_feet(empty_db, tmp_path):
    # a 1000 x 1000 US-survey-foot square in NAD83 / California zone 5 (ftUS): Los Angeles
    square = MultiPolygon([box(6_500_000, 1_840_000, 6_501_000, 1_841_000)])
    path = write(tmp_path / "la.shp", [square], {"code": ["US06037"], "name": ["LA"]}, "EPSG:2229")
    r = run(empty_db, "import", "areas", str(path), "--level", "district")
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    got = stored(empty_db, "US06037")
    expected = project(square, "EPSG:2229", "EPSG:4326")
    assert shapely.hausdorff_distance(got, expected) * 111_320 < 0.001
    area = rows(empty_db, "SELECT ST_Area(geom::geography) AS a FROM areas")[0]["a"]
    # 1000 ft squared is 92,903 m² (metres would give 1,000,000; the projection's scale ~1e-4)
    assert area == pytest.approx((1000 * US_SURVEY_FOOT_M) ** 2, rel=1e-3)
    lon, lat = expected.centroid.x, expected.centroid.y
    assert -118.3 < lon < -118.1 and 34.0 < lat < 34.1


def test_gauss_kruger_shapefile_lands_where_it_should(world_db, tmp_path):
    halves = [
        MultiPolygon([box(116.00, 39.05, 116.025, 39.10)]),
        MultiPolygon([box(116.025, 39.05, 116.05, 39.10)]),
    ]
    projected = [project(g, "EPSG:4326", "EPSG:4547") for g in halves]
    assert 600_000 < projected[0].centroid.x < 700_000  # eastings of zone CM 114E, no prefix
    path = write(
        tmp_path / "grids.shp", projected, {"code": ["GW", "GE"], "name": ["西", "东"]}, "EPSG:4547"
    )
    r = run(world_db, "import", "areas", str(path), "--level", "grid")
    assert r.exit_code == 0 and "2 new" in r.output, r.output
    parents = rows(world_db, "SELECT parent_code FROM areas WHERE code IN ('GW', 'GE')")
    assert [p["parent_code"] for p in parents] == [C2, C2]  # found spatially after reprojection
    for code, geom in zip(("GW", "GE"), halves, strict=True):
        assert shapely.hausdorff_distance(stored(world_db, code), geom) * 111_320 < 0.001


@pytest.mark.parametrize("suffix", [".shp", ".csv"])
def test_a_file_without_crs_is_refused_unless_crs_is_given(world_db, tmp_path, suffix):
    geom = project(MultiPolygon([box(116.00, 39.05, 116.025, 39.10)]), "EPSG:4326", "EPSG:4547")
    path = write(tmp_path / f"grids{suffix}", [geom], {"code": ["GX"], "name": ["无坐标系"]}, None)
    assert not path.with_suffix(".prj").exists()
    r = run(world_db, "import", "areas", str(path), "--level", "grid")
    assert r.exit_code == 1
    message = " ".join(r.output.split())
    assert f"grids{suffix} does not say which coordinate system it uses; pass --crs EPSG:n." in (
        message
    )
    assert rows(world_db, "SELECT count(*) AS n FROM areas WHERE code = 'GX'")[0]["n"] == 0
    r = run(world_db, "import", "areas", str(path), "--level", "grid", "--crs", "EPSG:4547")
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    assert rows(world_db, "SELECT parent_code FROM areas WHERE code = 'GX'")[0]["parent_code"] == C2


@pytest.mark.parametrize("crs", ["EPSG:5773"])  # GCJ02/BD09: tests/test_crs_chinese_files.py
def test_a_file_crs_must_be_a_usable_epsg_system(world_db, tmp_path, crs):
    path = write(tmp_path / "g.shp", [box(0, 0, 1, 1)], {"code": ["Q"], "name": ["q"]}, None)
    r = run(world_db, "import", "areas", str(path), "--level", "grid", "--crs", crs)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "EPSG" in r.output


# --- reports and locate in a projected CRS ----------------------------------------------------


def test_report_in_gauss_kruger_metres_is_assigned_to_the_right_grid(world):
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    for lon, lat, grid in ((116.010, 39.020, G1), (116.040, 39.030, G2)):
        x, y = to_gk.transform(lon, lat)
        body = {
            "category": "SJ0102",
            "location": {"lon": x, "lat": y, "crs": "EPSG:4547"},  # lon = easting here
        }
        r = world.post("/api/v1/incidents", json=body)
        assert r.status_code == 201, r.text
        got = r.json()
        assert got["assignment"]["grid"]["code"] == grid
        assert got["original_location"] == {"x": x, "y": y, "crs": "EPSG:4547"}
        glon, glat = got["location"]["coordinates"]
        assert glon == pytest.approx(lon, abs=1e-7) and glat == pytest.approx(lat, abs=1e-7)
        located = world.get(
            "/api/v1/locate", params={"lon": x, "lat": y, "crs": "EPSG:4547"}
        ).json()
        assert located["assignment"]["grid"]["code"] == grid


def test_report_with_swapped_projected_coordinates_is_refused(world):
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(116.01, 39.02)
    r = world.post(
        "/api/v1/incidents",
        json={"category": "SJ0102", "location": {"lon": y, "lat": x, "crs": "EPSG:4547"}},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] in (
        "outside_service_area",
        "invalid_coordinates",
    )


# --- GeoJSON lists in the CRS asked for ------------------------------------------------------


def coords(doc: dict) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    return {
        str(f["id"]): shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))
        for f in doc["features"]
    }


def assert_transformed(plain: dict, projected: dict, crs: str, tol: float) -> None:  # type: ignore[type-arg]
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    a, b = coords(plain), coords(projected)
    assert sorted(a) == sorted(b) and a
    for key, xy in a.items():
        x, y = t.transform(xy[:, 0], xy[:, 1])
        assert np.abs(b[key] - np.column_stack([x, y])).max() < tol, key


@pytest.mark.parametrize(
    ("crs", "tol"),
    [("EPSG:4547", 1e-6), ("EPSG:4548", 1e-6), ("EPSG:2229", 1e-6), ("EPSG:4490", 1e-9)],
)
def test_areas_in_another_crs_equal_pyproj_transform(world, crs, tol):
    plain = world.get("/api/v1/areas", params={"limit": 100}).json()
    assert "crs" not in plain  # RFC 7946 unless asked
    r = world.get("/api/v1/areas", params={"limit": 100, "crs": crs})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    code = crs.split(":")[1]
    assert doc["crs"] == {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}
    assert all("crs" not in f["geometry"] for f in doc["features"])
    assert [f["properties"] for f in doc["features"]] == [
        f["properties"] for f in plain["features"]
    ]
    assert_transformed(plain, doc, crs, tol)


def test_buildings_and_incidents_in_another_crs(world, world_db):
    from api.services.identity.auth import add_user, create_token

    for lon in (116.010, 116.030):
        body = {"category": "SJ0102", "location": {"lon": lon, "lat": 39.02}}
        assert world.post("/api/v1/incidents", json=body).status_code == 201
    with psycopg.connect(world_db) as conn:
        add_user(conn, "disp", "dispatcher", "110199", None)
        auth = {"Authorization": f"Bearer {create_token(conn, 'disp')}"}
    for path, headers in (("/api/v1/buildings", {}), ("/api/v1/incidents", auth)):
        plain = world.get(path, headers=headers).json()
        doc = world.get(path, params={"crs": "EPSG:4547"}, headers=headers).json()
        assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4547"
        assert_transformed(plain, doc, "EPSG:4547", 1e-6)


def test_bbox_stays_in_wgs84_when_output_is_projected(world):
    params = {"bbox": "116.0,39.0,116.024,39.04", "level": "grid", "crs": "EPSG:4547"}
    doc = world.get("/api/v1/areas", params=params).json()
    assert [f["id"] for f in doc["features"]] == [G1]
    assert doc["features"][0]["geometry"]["coordinates"][0][0][0][0] > 600_000


def test_explicit_wgs84_is_plain_rfc7946(world):
    plain = world.get("/api/v1/areas").json()
    for name in ("EPSG:4326", "OGC:CRS84", "urn:ogc:def:crs:EPSG::4326"):
        assert world.get("/api/v1/areas", params={"crs": name}).json() == plain


@pytest.mark.parametrize(
    ("crs", "status", "code", "words"),
    [
        ("GCJ02", 400, "bad_request", "不提供 GCJ02 坐标的 GeoJSON"),
        ("BD09", 400, "bad_request", "不提供 BD09 坐标的 GeoJSON"),
        ("EPSG:99999", 422, "unknown_crs", "Unknown coordinate reference system"),
        ("EPSG:5773", 422, "unknown_crs", "not a geographic or projected system"),
        ("EPSG:9377", 422, "unknown_crs", "not in this database's spatial_ref_sys"),
        ("'; DROP TABLE areas; --", 422, "unknown_crs", "Unknown coordinate reference system"),
    ],
)
def test_unusable_output_crs_is_a_clear_error(world, db, crs, status, code, words):
    for path in ("/api/v1/areas", "/api/v1/buildings"):
        r = world.get(path, params={"crs": crs})
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert err["code"] == code and words in err["message"]
    assert db.execute("SELECT count(*) AS n FROM areas").fetchone()["n"] == 8
