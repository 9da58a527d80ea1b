"""MBTiles 1.3 files (SQLite): raster tiles and their metadata, as GDAL and QGIS read them."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

BBox = tuple[float, float, float, float]
MERCATOR_MAX_LAT = 85.0511287798066

SCHEMA = """
CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
CREATE TABLE tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL,
                    tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL);
CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
"""


def tile_range(bbox: BBox, z: int) -> tuple[int, int, int, int]:
    """XYZ tiles (x0, y0, x1, y1 inclusive) covering a lon/lat box at zoom z."""
    n = 2**z

    def x_of(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180) / 360 * n)))

    def y_of(lat: float) -> int:
        lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return min(n - 1, max(0, int(y)))

    return x_of(bbox[0]), y_of(bbox[3]), x_of(bbox[2]), y_of(bbox[1])


def tile_count(bbox: BBox, zooms: Iterable[int]) -> int:
    """How many tiles cover the box over the zooms."""
    total = 0
    for z in zooms:
        x0, y0, x1, y1 = tile_range(bbox, z)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def write_mbtiles(
    path: Path, metadata: dict[str, str], tiles: Iterator[tuple[int, int, int, bytes]]
) -> int:
    """Write a new MBTiles file from (z, x, y, PNG) in XYZ numbering; returns tiles written."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(metadata.items()))
        written = 0
        for z, x, y, data in tiles:
            # MBTiles numbers rows from the south (TMS); XYZ from the north.
            conn.execute(
                "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, sqlite3.Binary(data))
            )
            written += 1
        conn.commit()
        return written
    finally:
        conn.close()
