"""`gridgov export …` through the CLI: every format and projected systems, re-imported and compared."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import psycopg
import pyogrio
import pytest
import shapely
from psycopg.rows import dict_row
from pyogrio.raw import read as ogr_read
from pyproj import Transformer
from typer.testing import CliRunner

from api.cli import app
from gis.io import OPEN_OPTIONS

LEVELS = ("district", "street", "community", "grid")
G1, G2 = "110199001001001", "110199001001002"
M_PER_DEG = 111_320.0  # a degree is at most this many metres: degrees × this bounds metres

ATTRIBUTES = {
    G1: {
        "households": 420,
        "officer": "王五",
        "ratio": 0.25,
        "active": True,
        "since": "2024-03-01",  # looks like a date: must stay text
        "checked": True,  # booleans and integers missing from some features (nulls in the file)
    },
    G2: {"households": 380, "officer": "赵六", "active": False, "staff": 3},
    "110199001": {"tel": "010-12345678"},
}


def run(url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def rows(url: str, query: str, params=()):  # type: ignore[no-untyped-def]
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def execute(url: str, query: str, params=()) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(url) as conn:
        conn.execute(query, params)


def set_attributes(url: str, code: str, attrs: dict) -> None:  # type: ignore[type-arg]
    """Save a new version of an area carrying `attrs` (versions are never changed in place)."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE areas SET valid_to = now() WHERE code = %s AND valid_to IS NULL", (code,)
        )
        conn.execute(
            "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, attributes) "
            "SELECT code, parent_code, name, level, level_rank, geom, %s FROM areas "
            "WHERE code = %s ORDER BY id DESC LIMIT 1",
            (json.dumps(attrs), code),
        )


def current_areas(url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    got = rows(
        url,
        "SELECT code, name, level, parent_code, attributes, valid_from, ST_AsBinary(geom) AS wkb "
        "FROM areas WHERE valid_to IS NULL ORDER BY code",
    )
    return {r["code"]: {**r, "wkb": shapely.from_wkb(r["wkb"])} for r in got}


def assert_same_geometry(a, b) -> None:  # type: ignore[no-untyped-def]
    """Same vertices within 1 mm: same count, and Hausdorff distance (an upper bound in m) < 1 mm."""
    assert shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
    assert shapely.hausdorff_distance(a, b) * M_PER_DEG < 0.001


@pytest.fixture
def attributed(world_db: str) -> str:
    """The synthetic world with attributes on some areas and address data on buildings."""
    for code, attrs in ATTRIBUTES.items():
        set_attributes(world_db, code, attrs)
    execute(
        world_db,
        "UPDATE buildings SET address = '学院路1号', households = 48, attributes = %s "
        "WHERE source_id = 'b1'",
        (json.dumps({"floors": 6}),),
    )
    return world_db


def export_levels(url: str, tmp: Path, fmt: str, crs: str) -> dict[str, Path]:
    out = {}
    for level in LEVELS:
        path = tmp / f"{level}.{fmt}"
        r = run(url, "export", "areas", str(path), "--format", fmt, "--crs", crs, "--level", level)
        assert r.exit_code == 0, r.output
        out[level] = path
    return out


@pytest.mark.parametrize(
    ("fmt", "crs"),
    [
        ("shp", "EPSG:4547"),  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
        ("shp", "EPSG:4548"),  # … CM 117E
        ("gpkg", "EPSG:4547"),
        ("geojson", "EPSG:4326"),
        ("geojson", "EPSG:4490"),
        ("csv", "EPSG:4548"),
        ("csv", "EPSG:4326"),
    ],
)
def test_areas_round_trip_into_a_fresh_database(attributed, empty_db, tmp_path, fmt, crs):
    files = export_levels(attributed, tmp_path, fmt, crs)
    assert pyogrio.read_info(files["grid"])["crs"] == crs
    for level in LEVELS:  # parents first
        r = run(empty_db, "import", "areas", str(files[level]), "--level", level)
        assert r.exit_code == 0, r.output
    before, after = current_areas(attributed), current_areas(empty_db)
    assert sorted(after) == sorted(before)
    for code, old in before.items():
        new = after[code]
        for key in ("name", "level", "parent_code", "attributes", "valid_from"):
            assert new[key] == old[key], (code, key)
        assert_same_geometry(new["wkb"], old["wkb"])


def test_shapefile_fields_are_short_and_documented(attributed, tmp_path):
    path = tmp_path / "grids.shp"
    r = run(attributed, "export", "areas", str(path), "--level", "grid", "--crs", "EPSG:4547")
    assert r.exit_code == 0, r.output
    assert f"exported 2 areas to {path} (ESRI Shapefile, EPSG:4547)" in r.output
    assert "field parent_code → parent" in r.output
    meta, _fids, _wkb, values = ogr_read(path)
    fields = list(meta["fields"])
    assert fields[:7] == ["code", "name", "level", "parent", "version_id", "valid_from", "valid_to"]
    assert all(len(f) <= 10 for f in fields)
    data = dict(zip(fields, values, strict=True))
    assert list(data["code"]) == [G1, G2] and list(data["parent"]) == ["110199001001"] * 2
    assert list(data["households"]) == [420, 380] and list(data["active"]) == [True, False]
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        assert path.with_suffix(suffix).exists()


def test_shapefile_report_names_the_fields_the_file_holds(world_db, tmp_path):
    """GDAL launders ':' in Shapefile names; the report must say what the file really holds."""
    set_attributes(world_db, G1, {"building:levels": 6, "name:en": "Block A"})
    r = run(world_db, "export", "areas", str(tmp_path / "g.shp"), "--level", "grid")
    assert r.exit_code == 0, r.output
    meta, _f, _w, values = ogr_read(tmp_path / "g.shp")
    data = dict(zip(meta["fields"], values, strict=True))
    assert data["building_l"][0] == 6 and data["name_en"][0] == "Block A"
    assert "field building:levels → building_l" in r.output
    assert "field name:en → name_en" in r.output
    assert "building:l" not in r.output.replace("building:levels", "")


def test_long_attribute_names_in_a_shapefile_are_renamed_and_listed(world_db, tmp_path):
    set_attributes(world_db, G1, {"officer_phone_number": "139", "网格员电话": "138"})
    r = run(world_db, "export", "areas", str(tmp_path / "g.shp"), "--level", "grid")
    assert r.exit_code == 0, r.output
    assert "field officer_phone_number → officer_ph" in r.output
    assert "field 网格员电话 → 网格员" in r.output  # dBase counts bytes: 3 per character
    meta, _f, _w, values = ogr_read(tmp_path / "g.shp")
    data = dict(zip(meta["fields"], values, strict=True))
    assert data["officer_ph"][0] == "139" and data["网格员"][0] == "138"


def test_reimporting_an_export_into_the_same_database_changes_nothing(attributed, tmp_path):
    path = tmp_path / "grids.shp"
    r = run(attributed, "export", "areas", str(path), "--level", "grid", "--crs", "EPSG:4547")
    assert r.exit_code == 0, r.output
    r = run(attributed, "import", "areas", str(path), "--level", "grid")
    assert r.exit_code == 0 and "0 new, 0 updated, 2 unchanged" in r.output, r.output
    assert rows(attributed, "SELECT count(*) AS n FROM areas")[0]["n"] == 8 + len(ATTRIBUTES)


def test_at_exports_the_versions_valid_then(world_db, tmp_path):
    old = rows(
        world_db,
        "SELECT id, valid_from, ST_AsBinary(geom) AS wkb FROM areas WHERE code = %s",
        (G2,),
    )[0]
    moved = shapely.MultiPolygon([shapely.box(116.03, 39.00, 116.049, 39.05)])
    src = tmp_path / "moved.geojson"
    pyogrio.raw.write(
        src,
        np.array([shapely.to_wkb(moved)], dtype=object),
        [np.array([G2], dtype=object), np.array(["一社区第2网格"], dtype=object)],
        ["code", "name"],
        geometry_type="MultiPolygon",
        crs="EPSG:4326",
        driver="GeoJSON",
    )
    # the world's grids were not written by an import: replacing them is asked for
    r = run(world_db, "import", "areas", str(src), "--level", "grid", "--overwrite-edited")
    assert r.exit_code == 0, r.output
    then = old["valid_from"].isoformat()
    r = run(
        world_db, "export", "areas", str(tmp_path / "then.gpkg"), "--level", "grid", "--at", then
    )
    assert r.exit_code == 0, r.output
    r = run(world_db, "export", "areas", str(tmp_path / "now.gpkg"), "--level", "grid")
    assert r.exit_code == 0, r.output

    def g2(path: Path) -> tuple[int, shapely.Geometry]:
        meta, _f, wkb, values = ogr_read(path)
        data = dict(zip(meta["fields"], values, strict=True))
        i = list(data["code"]).index(G2)
        return int(data["version_id"][i]), shapely.from_wkb(wkb[i])

    then_id, then_geom = g2(tmp_path / "then.gpkg")
    now_id, now_geom = g2(tmp_path / "now.gpkg")
    assert then_id == old["id"] and now_id != old["id"]
    assert_same_geometry(then_geom, shapely.from_wkb(old["wkb"]))
    assert_same_geometry(now_geom, moved)


def test_buildings_round_trip(attributed, empty_db, tmp_path):
    grids = export_levels(attributed, tmp_path, "gpkg", "EPSG:4548")
    path = tmp_path / "b.gpkg"
    r = run(attributed, "export", "buildings", str(path), "--crs", "EPSG:4548")
    assert r.exit_code == 0 and "exported 2 buildings" in r.output, r.output
    for level in LEVELS:
        assert run(empty_db, "import", "areas", str(grids[level]), "--level", level).exit_code == 0
    r = run(
        empty_db, "import", "buildings", str(path), "--id-field", "source_id", "--source", "test",
        "--address-field", "address", "--households-field", "households",
    )  # fmt: skip
    assert r.exit_code == 0 and "2 new" in r.output, r.output
    query = (
        "SELECT source, source_id, name, address, households, grid_code, attributes->'floors' AS f,"
        " ST_AsBinary(geom) AS wkb FROM buildings ORDER BY source_id"
    )
    before, after = rows(attributed, query), rows(empty_db, query)
    assert [r["source_id"] for r in after] == ["b1", "b2"]
    for old, new in zip(before, after, strict=True):
        for key in ("source", "source_id", "name", "address", "households", "grid_code", "f"):
            assert new[key] == old[key], key
        assert_same_geometry(shapely.from_wkb(new["wkb"]), shapely.from_wkb(old["wkb"]))


def report(client, lon, lat, **extra):  # type: ignore[no-untyped-def]
    body = {"category": "SJ0102", "description": "垃圾", "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json={**body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "csv"])
def test_incidents_leave_contacts_out_unless_asked(world, world_db, tmp_path, fmt):
    first = report(world, 116.010, 39.020, reporter={"name": "张三", "phone": "13800000000"})
    second = report(world, 116.030, 39.010)
    plain = tmp_path / f"plain.{fmt}"
    r = run(world_db, "export", "incidents", str(plain), "--crs", "EPSG:4547")
    assert r.exit_code == 0 and "exported 2 incidents" in r.output, r.output
    meta, _f, wkb, values = ogr_read(plain)
    fields = list(meta["fields"])
    assert not {"reporter_name", "reporter_phone", "rep_name", "rep_phone"} & set(fields)
    assert b"13800000000" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    data = dict(zip(fields, values, strict=True))
    assert list(data["id"]) == [first["id"], second["id"]]
    assert list(data["grid"]) == [G1, G2]
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    x, y = to_gk.transform(116.010, 39.020)
    point = shapely.from_wkb(wkb[0])
    assert abs(point.x - x) < 1e-6 and abs(point.y - y) < 1e-6

    full = tmp_path / f"full.{fmt}"
    r = run(world_db, "export", "incidents", str(full), "--with-contacts")
    assert r.exit_code == 0 and "contact data" in r.output, r.output
    meta, _f, _wkb, values = ogr_read(full, **OPEN_OPTIONS.get(full.suffix, {}))
    data = dict(zip(meta["fields"], values, strict=True))
    phone = "rep_phone" if fmt == "shp" else "reporter_phone"
    assert list(data[phone]) == ["13800000000", None]


def test_long_descriptions_cut_by_a_shapefile_are_reported(world, world_db, tmp_path):
    report(world, 116.010, 39.020, description="长" * 100)  # 300 bytes of UTF-8
    r = run(world_db, "export", "incidents", str(tmp_path / "i.shp"))
    assert r.exit_code == 0, r.output
    assert "1 values of descr were cut to 254 bytes" in r.output
    r = run(world_db, "export", "incidents", str(tmp_path / "i.gpkg"))
    assert r.exit_code == 0 and "were cut" not in r.output, r.output
    meta, _f, _w, values = ogr_read(tmp_path / "i.gpkg")
    assert dict(zip(meta["fields"], values, strict=True))["description"][0] == "长" * 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["buildings", "b.gpkg", "--level", "grid"], "--level applies to areas only"),
        (["incidents", "i.gpkg", "--at", "2024-01-01"], "--at applies to areas only"),
        (["areas", "a.gpkg", "--with-contacts"], "--with-contacts applies to incidents only"),
        (["areas", "a.gpkg", "--level", "parish"], "Unknown level 'parish'"),
        (["areas", "a.gpkg", "--crs", "EPSG:99999"], "Unknown coordinate reference system"),
        (["areas", "a.gpkg", "--format", "shp"], "does not end in .shp"),
        (["areas", "a.txt"], "Cannot tell the format"),
        (["areas", "a.gpkg", "--at", "yesterday"], "--at must be an ISO 8601"),
        (["areas", "nodir/a.gpkg"], "does not exist"),
    ],
)
def test_bad_requests_are_explained_and_write_nothing(world_db, tmp_path, args, message):
    args[1] = str(tmp_path / args[1])
    r = run(world_db, "export", *args)
    assert r.exit_code != 0
    assert message in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_with_overwrite(world_db, tmp_path):
    path = tmp_path / "a.shp"
    assert run(world_db, "export", "areas", str(path), "--level", "grid").exit_code == 0
    before = path.with_suffix(".dbf").read_bytes()
    r = run(world_db, "export", "areas", str(path))
    assert r.exit_code == 1 and "already exists; pass --overwrite" in r.output
    assert path.with_suffix(".dbf").read_bytes() == before
    r = run(world_db, "export", "areas", str(path), "--overwrite")
    assert r.exit_code == 0 and "exported 8 areas" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.cpg", "a.dbf", "a.prj", "a.shp", "a.shx",
    ]  # fmt: skip


def test_format_is_taken_from_the_suffix_or_added_to_a_bare_name(world_db, tmp_path):
    r = run(world_db, "export", "areas", str(tmp_path / "a.geojson"))
    assert r.exit_code == 0 and "(GeoJSON, EPSG:4326)" in r.output, r.output
    r = run(world_db, "export", "areas", str(tmp_path / "bare"), "--format", "csv")
    assert (
        r.exit_code == 0 and (tmp_path / "bare.csv").exists() and (tmp_path / "bare.csvt").exists()
    )
    assert (tmp_path / "bare.csv").read_text(encoding="utf-8").startswith("WKT,code,name,level")


def test_empty_layer_exports_zero_features(empty_db, tmp_path):
    r = run(empty_db, "export", "incidents", str(tmp_path / "i.gpkg"))
    assert r.exit_code == 0 and "exported 0 incidents" in r.output, r.output
    assert pyogrio.read_info(tmp_path / "i.gpkg")["features"] == 0


def test_naive_at_is_local_time_in_the_calendar_timezone(world_db, tmp_path):
    created = rows(world_db, "SELECT min(valid_from) AS t FROM areas")[0]["t"]
    local = created.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    later = (local + dt.timedelta(seconds=1)).isoformat()
    r = run(world_db, "export", "areas", str(tmp_path / "a.gpkg"), "--at", later)
    assert r.exit_code == 0 and "exported 8 areas" in r.output, r.output
    earlier = (local - dt.timedelta(hours=1)).isoformat()
    r = run(world_db, "export", "areas", str(tmp_path / "b.gpkg"), "--at", earlier)
    assert r.exit_code == 0 and "exported 0 areas" in r.output, r.output
