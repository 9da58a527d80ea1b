"""GCJ-02 and BD-09 files (Amap / DataV GeoAtlas / Baidu outlines) through `gridgov import` and
`gridgov export`: converted with the API's own transforms, round trip within a centimetre."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from fastapi.testclient import TestClient
from psycopg.rows import dict_row
from pyproj import Geod
from shapely.geometry import mapping, shape
from typer.testing import CliRunner

from api.cli import app
from api.main import create_app
from api.services.demo import DATA_DIR, LEVEL_FILES
from gis.crs import from_wgs84
from tests.conftest import settings_for

GEOD = Geod(ellps="WGS84")


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def converted(name: str, crs: str, out: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A demo layer with its coordinates moved into `crs` (as Amap or Baidu publish them)."""
    doc = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    for f in doc["features"]:
        g = shape(f["geometry"])
        f["geometry"] = mapping(
            shapely.transform(
                g, lambda xy: np.array([from_wgs84(x, y, crs) for x, y in xy], dtype=float)
            )
        )
    out.write_text(json.dumps(doc), encoding="utf-8")
    original = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))["features"]
    return out, original


def max_metres(a: Any, b: Any) -> float:
    """The largest distance in metres between corresponding vertices of two geometries."""
    pa, pb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    assert pa.shape == pb.shape
    _az, _baz, dist = GEOD.inv(pa[:, 0], pa[:, 1], pb[:, 0], pb[:, 1])
    return float(np.max(dist))


def stored(url: str, table: str, key: str) -> dict[str, Any]:
    sql = {
        "areas": "SELECT code AS k, ST_AsBinary(geom) AS g FROM areas WHERE valid_to IS NULL",
        "buildings": "SELECT source_id AS k, ST_AsBinary(geom) AS g FROM buildings",
    }[table]
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {r["k"]: shapely.from_wkb(bytes(r["g"])) for r in conn.execute(sql).fetchall()}


def test_gcj02_grids_import_and_export_back_within_a_centimetre(
    empty_db: str, tmp_path: Path
) -> None:
    for level, name in LEVEL_FILES[:3]:
        assert (
            run(empty_db, "import", "areas", str(DATA_DIR / name), "--level", level).exit_code == 0
        )
    gcj, original = converted("grids.geojson", "GCJ02", tmp_path / "amap_grids.geojson")
    r = run(empty_db, "import", "areas", str(gcj), "--level", "grid", "--crs", "GCJ02")
    assert r.exit_code == 0, r.output
    assert f"{len(original)} new" in r.output
    got = stored(empty_db, "areas", "code")
    for f in original:
        # back on the WGS 84 positions the GCJ-02 file was made from (no ~500 m offset left)
        assert max_metres(got[f["properties"]["code"]], shape(f["geometry"])) < 0.01

    out = tmp_path / "back.geojson"
    r = run(empty_db, "export", "areas", str(out), "--level", "grid", "--crs", "GCJ02")
    assert r.exit_code == 0, r.output
    assert "GCJ02" in r.output and "--crs GCJ02" in r.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in written  # the file cannot truthfully declare GCJ-02
    sent = {
        f["properties"]["code"]: shape(f["geometry"])
        for f in json.loads(gcj.read_text(encoding="utf-8"))["features"]
    }
    assert len(written["features"]) == len(sent)
    for f in written["features"]:
        assert max_metres(shape(f["geometry"]), sent[f["properties"]["code"]]) < 0.01

    # the same conversion as the API's: a GCJ-02 point from the file locates in its grid
    code, geom = next(iter(sent.items()))
    p = geom.representative_point()
    with TestClient(create_app(settings_for(empty_db))) as client:
        r = client.get("/api/v1/locate", params={"lon": p.x, "lat": p.y, "crs": "GCJ02"})
    assert r.status_code == 200 and r.json()["assignment"]["grid"]["code"] == code

    # re-importing the exported file changes nothing
    r = run(empty_db, "import", "areas", str(out), "--level", "grid", "--crs", "GCJ02")
    assert r.exit_code == 0 and f"{len(sent)} unchanged" in r.output, r.output


def test_bd09_buildings_import_within_a_centimetre(empty_db: str, tmp_path: Path) -> None:
    bd, original = converted("buildings.geojson", "BD09", tmp_path / "baidu.geojson")
    r = run(empty_db, "import", "buildings", str(bd), "--crs", "BD09", "--source", "baidu")
    assert r.exit_code == 0 and f"{len(original)} new" in r.output, r.output
    got = stored(empty_db, "buildings", "source_id")
    for f in original:
        assert max_metres(got[str(f["properties"]["osm_id"])], shape(f["geometry"])) < 0.01


def test_gcj02_refused_for_a_file_in_metres(empty_db: str, tmp_path: Path) -> None:
    r = run(empty_db, "export", "areas", str(tmp_path / "m.gpkg"), "--crs", "EPSG:4547")
    assert r.exit_code == 0, r.output
    r = run(
        empty_db, "import", "areas", str(tmp_path / "m.gpkg"), "--level", "grid", "--crs", "GCJ02"
    )
    assert r.exit_code == 1 and "projected" in r.output
