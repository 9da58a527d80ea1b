"""Imports through the CLI (`gridgov import …`): GeoJSON, GeoPackage, Shapefile, YAML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
import shapely.testing
from psycopg.rows import dict_row
from pyogrio.raw import write as ogr_write
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box
from typer.testing import CliRunner

from api.cli import app

C2 = "110199001002"  # the world's community without grids: [116.00,39.05]-[116.05,39.10]


def write_layer(path: Path, geoms, fields: dict[str, list], crs: str = "EPSG:4326") -> Path:  # type: ignore[no-untyped-def]
    driver = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}[path.suffix]
    ogr_write(
        path,
        np.array(shapely.to_wkb(geoms), dtype=object),
        [np.array(v, dtype=object) for v in fields.values()],
        list(fields),
        geometry_type="MultiPolygon" if driver != "ESRI Shapefile" else "Polygon",
        crs=crs,
        driver=driver,
    )
    return path


def run(url: str, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})
    return result


def rows(url: str, query: str, params=()):  # type: ignore[no-untyped-def]
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def halves() -> list[MultiPolygon]:
    """Two grids tiling the east and west halves of community 2."""
    return [
        MultiPolygon([box(116.025, 39.05, 116.05, 39.10)]),
        MultiPolygon([box(116.00, 39.05, 116.025, 39.10)]),
    ]


def test_geojson_grids_get_parents_and_generated_codes_and_reimport_is_idempotent(
    world_db, tmp_path
):
    path = write_layer(tmp_path / "grids.geojson", halves(), {"name": ["东网格", "西网格"]})
    r = run(world_db, "import", "areas", str(path), "--level", "grid")
    assert r.exit_code == 0, r.output
    assert "2 new" in r.output and "2 codes generated" in r.output
    got = rows(
        world_db,
        "SELECT code, name, parent_code FROM areas "
        "WHERE parent_code = %s AND valid_to IS NULL ORDER BY code",
        (C2,),
    )
    # reading order: west (116.00–116.025) before east
    assert [(g["code"], g["name"]) for g in got] == [(C2 + "001", "西网格"), (C2 + "002", "东网格")]
    again = run(world_db, "import", "areas", str(path), "--level", "grid")
    assert again.exit_code == 0 and "0 new, 0 updated, 2 unchanged" in again.output
    assert rows(world_db, "SELECT count(*) AS n FROM areas")[0]["n"] == 10


def test_changed_geometry_makes_a_new_version_and_keeps_history(world_db, tmp_path):
    geoms = halves()
    fields = {"code": [C2 + "002", C2 + "001"], "name": ["东", "西"]}
    run(
        world_db,
        "import",
        "areas",
        str(write_layer(tmp_path / "a.geojson", geoms, fields)),
        "--level",
        "grid",
    )
    moved = [
        MultiPolygon([box(116.03, 39.05, 116.05, 39.10)]),
        MultiPolygon([box(116.00, 39.05, 116.03, 39.10)]),
    ]
    r = run(
        world_db,
        "import",
        "areas",
        str(write_layer(tmp_path / "b.geojson", moved, fields)),
        "--level",
        "grid",
    )
    assert r.exit_code == 0 and "0 new, 2 updated" in r.output, r.output
    versions = rows(
        world_db,
        "SELECT valid_to IS NULL AS current, ST_XMin(geom) AS x0 FROM areas "
        "WHERE code = %s ORDER BY id",
        (C2 + "002",),
    )
    assert versions == [{"current": False, "x0": 116.025}, {"current": True, "x0": 116.03}]
    parts = rows(
        world_db,
        "SELECT count(DISTINCT area_id) AS n FROM area_parts WHERE code = %s",
        (C2 + "002",),
    )
    assert parts[0]["n"] == 1  # only the current version is used for lookups


def test_geopackage_in_a_projected_crs(world_db, tmp_path):
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)  # CGCS2000 GK CM 117E
    projected = [
        shapely.transform(g, lambda xy: np.column_stack(to_gk.transform(*xy.T))) for g in halves()
    ]
    path = write_layer(
        tmp_path / "grids.gpkg",
        projected,
        {"code": ["G-E", "G-W"], "name": ["东", "西"]},
        crs="EPSG:4548",
    )
    r = run(world_db, "import", "areas", str(path), "--level", "grid", "--parent-code", C2)
    assert r.exit_code == 0, r.output
    got = rows(world_db, "SELECT ST_AsBinary(geom) AS g FROM areas WHERE code = 'G-E'")[0]["g"]
    shapely.testing.assert_geometries_equal(
        shapely.from_wkb(got), halves()[0], tolerance=1e-7, normalize=True
    )


def test_self_intersecting_polygon_in_a_shapefile_is_repaired_and_listed(world_db, tmp_path):
    bowtie = Polygon([(116.00, 39.05), (116.05, 39.10), (116.05, 39.05), (116.00, 39.10)])
    assert not bowtie.is_valid
    path = write_layer(tmp_path / "bow.shp", [bowtie], {"code": ["BOW"], "name": ["蝴蝶"]})
    r = run(world_db, "import", "areas", str(path), "--level", "grid", "--parent-code", C2)
    assert r.exit_code == 0, r.output
    assert "repaired feature BOW: Self-intersection" in r.output
    valid = rows(
        world_db,
        "SELECT ST_IsValid(geom) AS ok, ST_NumGeometries(geom) AS n, "
        "ST_Area(geom::geography) > 0 AS a FROM areas WHERE code = 'BOW'",
    )
    assert valid == [{"ok": True, "n": 2, "a": True}]


def test_bad_file_imports_nothing(world_db, tmp_path):
    # second feature's parent does not exist: the whole file is refused
    path = write_layer(
        tmp_path / "g.geojson",
        halves(),
        {"code": ["X1", "X2"], "name": ["a", "b"], "parent_code": [C2, "NOPE"]},
    )
    r = run(world_db, "import", "areas", str(path), "--level", "grid")
    assert r.exit_code == 1
    assert "NOPE" in r.output and "Traceback" not in r.output
    assert rows(world_db, "SELECT count(*) AS n FROM areas")[0]["n"] == 8


def test_missing_name_field_is_explained(world_db, tmp_path):
    path = write_layer(tmp_path / "g.geojson", halves(), {"code": ["X1", "X2"]})
    r = run(world_db, "import", "areas", str(path), "--level", "grid", "--parent-code", C2)
    assert r.exit_code == 1 and "no 'name' field" in r.output and "--name-field" in r.output


def test_buildings_upsert_and_get_their_grid(world_db, tmp_path):
    footprints = [
        MultiPolygon([box(116.010, 39.010, 116.0105, 39.0105)]),
        MultiPolygon([box(116.030, 39.010, 116.0305, 39.0105)]),
    ]
    path = write_layer(
        tmp_path / "b.geojson", footprints, {"osm_id": [11, 12], "name": ["甲", "乙"]}
    )
    r = run(world_db, "import", "buildings", str(path), "--source", "osm")
    assert r.exit_code == 0 and "2 new" in r.output, r.output
    again = run(world_db, "import", "buildings", str(path), "--source", "osm")
    assert "0 new, 0 updated, 2 unchanged" in again.output, again.output
    got = rows(
        world_db,
        "SELECT source_id, grid_code FROM buildings WHERE source = 'osm' ORDER BY source_id",
    )
    assert got == [
        {"source_id": "11", "grid_code": "110199001001001"},
        {"source_id": "12", "grid_code": "110199001001002"},
    ]


def test_config_yaml_upserts_and_refuses_unknown_references(world_db, tmp_path):
    good = tmp_path / "c.yaml"
    good.write_text(
        "departments:\n  - {code: GAS, name: 燃气公司, kind: functional, area: '110199'}\n"
        "categories:\n  - {code: SH0203, name: 燃气安全隐患, parent: SH02, kind: event,"
        " time_limit: 2, time_unit: natural_hours, urgency: critical}\n"
        "  - {code: SH02, name: 安全隐患, kind: event}\n"
        "routing_rules:\n  - {category: SH02, department: GAS}\n",
        encoding="utf-8",
    )
    for _ in range(2):
        r = run(world_db, "import", "config", str(good))
        assert r.exit_code == 0, r.output
    assert (
        rows(world_db, "SELECT count(*) AS n FROM routing_rules WHERE department_code = 'GAS'")[0][
            "n"
        ]
        == 1
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "departments:\n  - {code: NEW, name: 新, kind: functional}\n"
        "routing_rules:\n  - {category: SH, department: MISSING}\n",
        encoding="utf-8",
    )
    r = run(world_db, "import", "config", str(bad))
    assert r.exit_code == 1 and "does not exist" in r.output
    assert rows(world_db, "SELECT count(*) AS n FROM departments WHERE code = 'NEW'")[0]["n"] == 0


@pytest.mark.parametrize("text", ["departments: [{code: X}]", "a: [1, 2", "categories: 5"])
def test_invalid_config_is_a_clear_error(world_db, tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    r = run(world_db, "import", "config", str(path))
    assert r.exit_code == 1 and "c.yaml" in r.output and "Traceback" not in r.output


def test_config_carries_open311_attributes(world_db, world, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "categories:\n"
        "  - code: BJ0101\n    name: 上水井盖\n    parent: BJ01\n    kind: component\n"
        "    time_limit: 6\n    time_unit: natural_hours\n"
        "    extras:\n      attributes:\n        - {code: state, datatype: singlevaluelist,"
        " description: 井盖状况, required: true, order: 1,"
        " values: [{key: missing, name: 缺失}, {key: broken, name: 破损}]}\n",
        encoding="utf-8",
    )
    r = run(world_db, "import", "config", str(path))
    assert r.exit_code == 0, r.output
    definition = world.get("/open311/v2/services/BJ0101.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["state"]
    assert definition["attributes"][0]["required"] is True
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        path.read_text(encoding="utf-8").replace("singlevaluelist", "string"), encoding="utf-8"
    )
    r = run(world_db, "import", "config", str(bad))
    assert r.exit_code == 1 and "only list datatypes take values" in r.output
