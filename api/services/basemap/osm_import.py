"""Load OpenStreetMap files into the base map tables, replacing what was there in one commit.

The files are streamed by pyosmium into a temporary staging table (COPY) inside the same
transaction that then empties and refills every base map table from it. Readers (tile renders)
keep seeing the old map until that commit and the new one right after; a file that cannot be
read raises before anything was replaced, and the rollback leaves the old map untouched.
Overlapping extracts are merged: an OSM object present in several files is kept once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import Connection, sql

from api.db.models_basemap import BASEMAP_TABLES
from api.services.interop.tile_cache import invalidate
from gis.osm_basemap import ReadStats, check_path, read_osm
from gis.walking import build_walk_graph

BBox = tuple[float, float, float, float]
TILE_TABLE = "basemap"  # what the tile cache calls the base map's tiles

STAGE_SQL = """
CREATE TEMP TABLE basemap_stage (
    tbl text NOT NULL, osm_id bigint NOT NULL, class text NOT NULL, name text, geom geometry
) ON COMMIT DROP
"""

# Geometry as each table takes it: lines stay lines; polygons are made valid (an OSM ring may
# touch itself) and kept as multipolygons; a named area drawn as a point of interest becomes a
# point on its surface. DISTINCT ON keeps one copy of an object found in several extracts (the
# one with most vertices: the extracts clip ways at different edges).
FILL_SQL = """
INSERT INTO {table} (osm_id, class, name, geom)
SELECT DISTINCT ON (s.osm_id, s.class) s.osm_id, s.class, s.name, {geom}
FROM basemap_stage s
WHERE s.tbl = %(table)s
  AND (%(x0)s::float8 IS NULL
       OR s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY s.osm_id, s.class, ST_NPoints(s.geom) DESC
"""
GEOM = {
    "LINESTRING": "s.geom",
    "MULTIPOLYGON": "ST_Multi(CASE WHEN ST_IsValid(s.geom) THEN s.geom "
    "ELSE ST_CollectionExtract(ST_MakeValid(s.geom), 3) END)",
    "POINT": "CASE WHEN ST_Dimension(s.geom) = 0 THEN s.geom ELSE ST_PointOnSurface(s.geom) END",
}


class BasemapImportError(Exception):
    """A base map import that cannot go ahead (the message is for the person importing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ImportResult:
    """Rows loaded per table, objects read, geometries skipped, the bounds of the new map."""

    counts: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    broken: int = 0
    bounds: BBox | None = None
    walk_edges: int = 0  # pieces of street in the walking graph (gis/walking.py)


def check_bbox(bbox: BBox | None) -> None:
    """Refuse a box that is not west,south,east,north in degrees."""
    if bbox is None:
        return
    x0, y0, x1, y1 = bbox
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise BasemapImportError(
            "--bbox must be west,south,east,north in degrees, "
            f"west < east and south < north: {x0},{y0},{x1},{y1}"
        )


def import_basemap(
    conn: Connection[Any],
    files: Sequence[Path],
    bbox: BBox | None = None,
    *,
    on_read: Callable[[int], None] | None = None,
    on_table: Callable[[str, int], None] | None = None,
) -> ImportResult:
    """Replace the base map with the content of `files` (clipped to `bbox`), atomically.

    Call inside a transaction the caller commits. `on_read(n)`: n more OSM objects read;
    `on_table(table, rows)`: one table refilled.
    """
    check_bbox(bbox)
    if not files:
        raise BasemapImportError("No file given.")
    for path in files:
        check_path(path)  # all names checked before the first byte is read
    result = ImportResult()
    conn.execute(STAGE_SQL)
    with conn.cursor().copy(
        "COPY basemap_stage (tbl, osm_id, class, name, geom) FROM STDIN"
    ) as copy:
        for path in files:
            stats = ReadStats()
            for row in read_osm(path, stats, on_read):
                copy.write_row(row)
            result.objects += stats.objects
            result.broken += stats.broken
    # One import at a time; tile renders (plain reads) are not blocked by this lock.
    conn.execute("LOCK TABLE basemap_imports IN EXCLUSIVE MODE")
    x0, y0, x1, y1 = bbox if bbox is not None else (None, None, None, None)
    for table, kind in BASEMAP_TABLES:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        cur = conn.execute(
            sql.SQL(FILL_SQL).format(table=sql.Identifier(table), geom=sql.SQL(GEOM[kind])),
            {"table": table, "x0": x0, "y0": y0, "x1": x1, "y1": y1},
        )
        result.counts[table] = cur.rowcount
        if on_table is not None:
            on_table(table, cur.rowcount)
    if sum(result.counts.values()) == 0:
        raise BasemapImportError(
            "Nothing drawable for the base map in these files inside --bbox; "
            "the base map was left as it was."
            if bbox is not None
            else "Nothing drawable for the base map in these files; "
            "the base map was left as it was."
        )
    result.bounds = _bounds(conn)
    result.walk_edges = build_walk_graph(conn)
    conn.execute(
        "INSERT INTO basemap_imports (source, counts, bounds) VALUES (%s, %s, %s)",
        (
            ", ".join(p.name for p in files),
            json.dumps(result.counts),
            None if result.bounds is None else json.dumps(result.bounds),
        ),
    )
    invalidate(conn, None, TILE_TABLE)  # every process drops its base map tiles on commit
    return result


def _bounds(conn: Connection[Any]) -> BBox | None:
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT ST_Extent(geom) AS e FROM {}").format(sql.Identifier(t))
        for t, _ in BASEMAP_TABLES
    )
    query = sql.SQL(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
        "FROM (SELECT ST_Extent(e) AS b FROM ({}) x) y"
    ).format(parts)
    row = conn.execute(query).fetchone()
    values = [] if row is None else list(row.values() if isinstance(row, dict) else row)
    if not values or values[0] is None:
        return None
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def latest_import(conn: Connection[Any]) -> dict[str, Any] | None:
    """The last import's source, time, counts and bounds (None before the first)."""
    cur = conn.execute(
        "SELECT source, imported_at, counts, bounds FROM basemap_imports ORDER BY id DESC LIMIT 1"
    )
    row = cur.fetchone()
    if row is None:
        return None
    names = [d.name for d in cur.description or []]
    return dict(row) if isinstance(row, dict) else dict(zip(names, row, strict=True))
