"""`gridgov basemap import`: OSM extracts into the base map tables, replaced all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from typer.testing import CliRunner

from api.cli import app
from api.db.models_basemap import BASEMAP_TABLES

REPO = Path(__file__).resolve().parents[1]
DEMO_OSM = sorted((REPO / "api" / "demo" / "data" / "osm").glob("*.osm.pbf"))
# The shared extracts the demo copies came from (.osm XML), where this checkout has them.
SHARED_OSM = next(
    (
        sorted(d.glob("*.osm"))
        for p in REPO.parents
        if (d := p / "shared" / "data" / "beijing-haidian" / "osm").is_dir()
    ),
    [],
)
# Rows per table from both extracts (counted by hand in the files: ways with these tags …).
BOTH = {
    "basemap_roads": 935,
    "basemap_railways": 11,
    "basemap_waterways": 5,
    "basemap_water": 10,
    "basemap_landuse": 151,
    "basemap_buildings": 777,
    "basemap_places": 3,
    "basemap_pois": 265,
}
CAU_BOX = "116.3440,39.9976,116.3598,40.0089"  # the China Agricultural University extract


def gridgov(url: str, *args: str) -> Any:
    """Run the CLI against a test database."""
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def snapshot(url: str) -> dict[str, Any]:
    """Every base map table's rows (id, osm id, class, name, geometry hash) and the import log."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        out: dict[str, Any] = {
            t: conn.execute(
                f"SELECT id, osm_id, class, name, md5(ST_AsBinary(geom)) g FROM {t} ORDER BY id"  # noqa: S608
            ).fetchall()
            for t, _ in BASEMAP_TABLES
        }
        out["imports"] = conn.execute("SELECT id, source FROM basemap_imports").fetchall()
    return out


def counts(url: str) -> dict[str, int]:
    return {t: len(rows) for t, rows in snapshot(url).items() if t != "imports"}


def test_demo_copies_are_there() -> None:
    assert [p.name for p in DEMO_OSM] == ["cau_map.osm.pbf", "tsinghua_map.osm.pbf"]


@pytest.mark.skipif(not SHARED_OSM, reason="the shared OSM extracts are not beside this checkout")
def test_import_of_the_shared_osm_extracts(empty_db: str) -> None:
    result = gridgov(empty_db, "basemap", "import", *map(str, SHARED_OSM))
    assert result.exit_code == 0, result.output
    assert "Base map replaced: 2157 rows from 15239 OSM objects" in result.output
    assert counts(empty_db) == BOTH


def test_import_then_reimport_replaces_everything(empty_db: str) -> None:
    first = gridgov(empty_db, "basemap", "import", *map(str, DEMO_OSM))
    assert first.exit_code == 0, first.output
    assert "Reading OSM" in first.output and "8/8" in first.output  # the progress bar
    assert counts(empty_db) == BOTH
    with psycopg.connect(empty_db, row_factory=dict_row) as conn:
        road = conn.execute(
            "SELECT class, ST_GeometryType(geom) t, ST_SRID(geom) srid FROM basemap_roads "
            "WHERE name = '清华东路' ORDER BY id LIMIT 1"
        ).fetchone()
        assert road == {"class": "secondary", "t": "ST_LineString", "srid": 4326}
        # points of interest tagged on areas become points on their surface
        kinds = conn.execute("SELECT DISTINCT ST_GeometryType(geom) t FROM basemap_pois")
        assert kinds.fetchall() == [{"t": "ST_Point"}]
        poi = conn.execute("SELECT class FROM basemap_pois WHERE name = '清华附中'").fetchall()
        assert poi == [{"class": "school"}]
        place = conn.execute("SELECT class FROM basemap_places WHERE name = '双泉堡'").fetchall()
        assert place == [{"class": "neighbourhood"}]

    before = snapshot(empty_db)
    again = gridgov(empty_db, "basemap", "import", str(DEMO_OSM[0]), "--bbox", CAU_BOX)
    assert again.exit_code == 0, again.output
    after = snapshot(empty_db)
    assert len(after["imports"]) == 2
    assert after["imports"][-1]["source"] == "cau_map.osm.pbf"
    old_ids = {r["id"] for r in before["basemap_roads"]}
    assert old_ids.isdisjoint(r["id"] for r in after["basemap_roads"])  # nothing kept
    names = {r["name"] for r in after["basemap_roads"]}
    assert "学清路" in names and "中关村北大街" not in names  # Tsinghua's roads are gone
    assert 0 < len(after["basemap_roads"]) < len(before["basemap_roads"])
    with psycopg.connect(empty_db) as conn:
        outside = conn.execute(
            "SELECT count(*) FROM basemap_roads WHERE NOT geom && "
            "ST_MakeEnvelope(116.3440, 39.9976, 116.3598, 40.0089, 4326)"
        ).fetchone()
        assert outside == (0,)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "broken.osm",
            b"<?xml version='1.0'?><osm version='0.6'><node id='1' lat=",
            "Cannot read the OSM file",
        ),
        ("empty.osm", b"", "Cannot read the OSM file"),
        ("garbage.osm.pbf", b"\x00\x01 not a pbf at all" * 50, "Cannot read the OSM file"),
        ("notes.txt", b"hello", "Not an OpenStreetMap file"),
        ("nothing.osm", b"<?xml version='1.0'?><osm version='0.6'></osm>", "No OpenStreetMap data"),
    ],
)
def test_a_bad_file_changes_nothing(empty_db: str, name: str, content: bytes, message: str,
                                    tmp_path: Path) -> None:  # fmt: skip
    assert gridgov(empty_db, "basemap", "import", *map(str, DEMO_OSM)).exit_code == 0
    before = snapshot(empty_db)
    bad = tmp_path / name
    bad.write_bytes(content)
    # the good file first: its rows were staged before the bad one failed, and are dropped too
    result = gridgov(empty_db, "basemap", "import", str(DEMO_OSM[0]), str(bad))
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert snapshot(empty_db) == before


def test_bad_arguments_are_refused_before_reading(empty_db: str, tmp_path: Path) -> None:
    missing = gridgov(empty_db, "basemap", "import", str(tmp_path / "nope.osm"))
    assert missing.exit_code == 1 and "No such file" in missing.output
    for box in ("1,2,3", "116.4,39.9,116.3,40.0", "a,b,c,d", "0,0,200,10"):
        result = gridgov(empty_db, "basemap", "import", str(DEMO_OSM[0]), "--bbox", box)
        assert result.exit_code == 1, (box, result.output)
        assert "--bbox" in result.output
    outside = gridgov(empty_db, "basemap", "import", str(DEMO_OSM[0]), "--bbox", "10,10,11,11")
    assert outside.exit_code == 1 and "Nothing drawable" in outside.output
    assert counts(empty_db) == dict.fromkeys(BOTH, 0)
