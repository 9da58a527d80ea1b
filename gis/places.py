"""Where an incident is, in words: the nearest named building, else road, else its grid's name.

`PLACE_SQL` is an expression over an incident row aliased `t` (geom, grid_code), used by the
incident list and the live feed (gis/features.py INCIDENT_PROPS). Each lookup is one KNN step on
a GiST index (`ORDER BY geom <-> point LIMIT 1`); the distance test comes after, in metres on
the spheroid, so a far building or road does not name a place it is not near: a building
within 50 m, a road within 150 m.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

PLACE_SQL = """coalesce(
    (SELECT n.name FROM (SELECT b.name, b.geom FROM buildings b
                         WHERE b.name IS NOT NULL AND b.name <> ''
                         ORDER BY b.geom <-> t.geom LIMIT 1) n
     WHERE ST_DWithin(n.geom::geography, t.geom::geography, 50)),
    (SELECT n.name FROM (SELECT r.name, r.geom FROM basemap_roads r
                         WHERE r.name IS NOT NULL AND r.name <> ''
                         ORDER BY r.geom <-> t.geom LIMIT 1) n
     WHERE ST_DWithin(n.geom::geography, t.geom::geography, 150)),
    (SELECT a.name FROM areas a WHERE a.code = t.grid_code AND a.valid_to IS NULL))"""


def place_at(conn: Connection[Any], lon: float, lat: float, grid_code: str | None) -> str | None:
    """The place text of a point (as the incident list gives it)."""
    row = conn.execute(
        "SELECT " + PLACE_SQL + " AS place FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) "  # noqa: S608
        "AS geom, %s::text AS grid_code) t",
        (lon, lat, grid_code),
    ).fetchone()
    return None if row is None else row["place"]
