"""`gridgov basemap export`: MBTiles that GDAL reads back, with the streets and their names."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.basemap_util import (
    CONTROL,
    ROAD_NAME,
    ROAD_POINT,
    band,
    basemap_db,  # noqa: F401  (fixture)
    darkness,
    drawn,
    name_scores,
    west_east_line,
)

BOX = "116.3440,39.9976,116.3598,40.0089"  # the China Agricultural University extract
needs_gdal = pytest.mark.skipif(shutil.which("gdalinfo") is None, reason="needs gdal-bin")


def gridgov(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


@needs_gdal
def test_export_is_read_back_by_gdal(basemap_db: str, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "cau.mbtiles"
    result = gridgov(basemap_db, "basemap", "export", str(out), "--bbox", BOX,
                     "--min-zoom", "14", "--max-zoom", "16")  # fmt: skip
    assert result.exit_code == 0, result.output
    with sqlite3.connect(out) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        per_zoom = db.execute("SELECT zoom_level, count(*) FROM tiles GROUP BY 1").fetchall()
    assert meta["format"] == "png" and meta["attribution"] == "© OpenStreetMap contributors"
    assert [z for z, _ in per_zoom] == [14, 15, 16]
    assert f"{sum(n for _, n in per_zoom)} tiles written to" in result.output

    info = json.loads(subprocess.run(["gdalinfo", "-json", str(out)], capture_output=True,
                                     check=True, text=True).stdout)  # fmt: skip
    assert info["driverShortName"] == "MBTiles"
    assert 'ID["EPSG",3857]' in info["coordinateSystem"]["wkt"]
    x_min, pixel, _, y_max, _, neg_pixel = info["geoTransform"]
    assert pixel == pytest.approx(2 * math.pi * 6378137 / 256 / 2**16)  # zoom 16 resolution
    assert neg_pixel == -pixel
    assert len(info["bands"]) in (3, 4)
    assert len(info["bands"][0]["overviews"]) == 2  # zooms 15 and 14

    # GDAL's own pixels, written out as PNG: the road across the picture, its name on it
    png = tmp_path / "cau.png"
    subprocess.run(["gdal_translate", "-q", "-of", "PNG", str(out), str(png)], check=True)
    image = darkness(png.read_bytes())
    mx = math.radians(ROAD_POINT[0]) * 6378137
    my = math.log(math.tan(math.pi / 4 + math.radians(ROAD_POINT[1]) / 2)) * 6378137
    col, row = round((mx - x_min) / pixel), round((y_max - my) / pixel)
    assert west_east_line(image[:, col - 200 : col + 200], row)
    around = band(image, row)
    scores = name_scores(around, ROAD_NAME)
    assert drawn(around, ROAD_NAME), scores
    assert max(name_scores(around, CONTROL)) < min(scores)


def test_bad_exports_write_nothing(basemap_db: str, tmp_path: Path) -> None:  # noqa: F811
    old = tmp_path / "old.mbtiles"
    old.write_bytes(b"keep me")
    cases = [
        ([str(old), "--bbox", BOX], "--overwrite"),
        ([str(tmp_path / "a.png"), "--bbox", BOX], ".mbtiles"),
        ([str(tmp_path / "big.mbtiles"), "--bbox", "73,18,135,54", "--max-zoom", "14"], "tiles is more than"),
        ([str(tmp_path / "z.mbtiles"), "--bbox", BOX, "--min-zoom", "9", "--max-zoom", "3"], "--min-zoom"),
        ([str(tmp_path / "b.mbtiles"), "--bbox", "116.4,40,116.3,39"], "--bbox"),
    ]  # fmt: skip
    for args, message in cases:
        result = gridgov(basemap_db, "basemap", "export", *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
    assert old.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.mbtiles"]
