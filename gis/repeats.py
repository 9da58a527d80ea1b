"""Repeat locations: buildings or grids where incidents of one major class keep being closed.

A place with at least `min_count` closed incidents of a class in the window is a candidate for
source governance (源头治理): fixing the cause rather than the next report. Returned as GeoJSON
features with the building footprint or the current grid boundary.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from gis.rows import one_row
from gis.window import Window

LEVELS = ("building", "grid")

# Per level: the incident column holding the place (as text, and as stored: incidents without
# one are left out, which a partial index answers for buildings), and how to find its geometry
# and name.
PLACE = {
    "building": (
        "i.building_id::text",
        "i.building_id",
        "SELECT b.geom, coalesce(b.name, b.address, '#' || b.id) AS name "
        "FROM buildings b WHERE b.id::text = g.place",
    ),
    "grid": (
        "i.grid_code",
        "i.grid_code",
        "SELECT a.geom, a.name FROM areas a WHERE a.code = g.place AND a.valid_to IS NULL",
    ),
}

REPEATS_SQL = """
WITH c AS (
    SELECT i.id, i.public_id, i.closed_at, {place} AS place,
           coalesce(k.parent_code, k.code) AS class
    FROM incidents i JOIN categories k ON k.code = i.category_code
    WHERE i.status = 'closed' AND i.closed_at >= %(since)s AND i.closed_at < %(until)s
      AND {column} IS NOT NULL
      AND (%(category)s::text IS NULL OR starts_with(i.category_code, %(category)s::text))
      AND {scope}
),
g AS (
    SELECT place, class, count(*) AS n, min(closed_at) AS first_at, max(closed_at) AS last_at,
           jsonb_agg(public_id ORDER BY closed_at, id) AS ids
    FROM c WHERE place IS NOT NULL
    GROUP BY place, class
    HAVING count(*) >= %(min_count)s
)
SELECT coalesce(jsonb_agg(jsonb_build_object(
    'type', 'Feature', 'id', g.place || '/' || g.class,
    'geometry', ST_AsGeoJSON(p.geom, 7)::jsonb,
    'properties', jsonb_build_object(
        'level', %(level)s::text, 'code', g.place, 'name', p.name,
        'class', g.class, 'class_name', cl.name, 'count', g.n,
        'first_closed_at', g.first_at, 'last_closed_at', g.last_at, 'incidents', g.ids,
        'flag', 'source_governance'))
    ORDER BY g.n DESC, g.place, g.class), '[]'::jsonb) AS features
FROM g
LEFT JOIN LATERAL ({geometry}) p ON true
LEFT JOIN categories cl ON cl.code = g.class
"""


def repeat_features(conn: Connection[Any], window: Window, *, level: str) -> list[dict[str, Any]]:
    """Places (buildings or grids) with ≥ `min_count` closed incidents of one major class."""
    place, column, geometry = PLACE[level]
    query = sql.SQL(REPEATS_SQL).format(
        place=sql.SQL(place),
        column=sql.SQL(column),
        geometry=sql.SQL(geometry),
        scope=window.scope,  # fixed fragments only
    )
    row = one_row(conn, query, {**window.params(), "level": level})
    return list(row["features"])
