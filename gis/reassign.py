"""Spatial SQL run when boundaries change: buildings and open incidents in the touched region.

`touched` is the union of the old and new geometries of every area a save changed; nothing
outside it (plus the nearest-grid reach for incidents) can change its assignment.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from gis.topology import degrees_for

# Same rule as gis.assign.ASSIGN_BUILDINGS_SQL (the grid holding the building's interior point,
# lowest code on a shared edge), limited to buildings meeting the touched region: the && box
# test lets the GiST index on buildings.geom pick the candidates.
REGRID_BUILDINGS_SQL = """
WITH t AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS g),
cand AS MATERIALIZED (
    SELECT b.id, b.name, b.grid_code AS old_grid, (
        SELECT p.code FROM area_parts p
        WHERE p.level_rank = 4 AND ST_Covers(p.geom, ST_PointOnSurface(b.geom))
        ORDER BY p.code LIMIT 1) AS new_grid
    FROM buildings b, t
    WHERE b.geom && t.g AND ST_Intersects(b.geom, t.g)
)
UPDATE buildings b SET grid_code = c.new_grid
FROM cand c
WHERE b.id = c.id AND b.grid_code IS DISTINCT FROM c.new_grid
RETURNING b.id, c.name, c.old_grid, c.new_grid
"""

# Open incidents whose point lies within `margin` metres of the touched region (the box is an
# indexable prefilter in degrees, the spheroid distance decides). Locked: they may be updated.
# Their ids only: the re-assignment reads the rest in its own statement (api.services.boundaries
# .impact.MOVE_SQL).
OPEN_INCIDENTS_NEAR_SQL = """
SELECT i.id
FROM incidents i, (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS g) t
WHERE i.status NOT IN ('closed', 'rejected')
  AND i.geom && ST_Expand(t.g, %(dx)s, %(dy)s)
  AND ST_DWithin(i.geom::geography, t.g::geography, %(margin)s)
ORDER BY i.id
FOR UPDATE OF i
"""


def regrid_buildings(conn: Connection[Any], touched: BaseGeometry) -> list[dict[str, Any]]:
    """Re-derive the grid of buildings meeting `touched`; returns those that moved."""
    rows = conn.execute(REGRID_BUILDINGS_SQL, {"wkb": touched.wkb}).fetchall()
    return sorted((dict(r) for r in rows), key=lambda r: r["id"])


def open_incidents_near(
    conn: Connection[Any], touched: BaseGeometry, margin_m: float
) -> list[dict[str, Any]]:
    """Open incidents within `margin_m` of `touched`, locked for update, by id ({id} rows)."""
    lat = max(abs(touched.bounds[1]), abs(touched.bounds[3]))
    dx, dy = degrees_for(margin_m, lat)
    rows = conn.execute(
        OPEN_INCIDENTS_NEAR_SQL, {"wkb": touched.wkb, "dx": dx, "dy": dy, "margin": margin_m}
    ).fetchall()
    return [dict(r) for r in rows]


# Open incidents assigned to an area at any level. The box test (the area's envelope widened by
# the nearest-grid reach, which bounds where such incidents can lie) lets the GiST index on
# incidents.geom narrow the rows before the code comparisons.
OPEN_INCIDENTS_OF_SQL = """
SELECT i.public_id FROM incidents i
WHERE i.status NOT IN ('closed', 'rejected')
  AND i.geom && ST_Expand(ST_GeomFromWKB(%(wkb)s, 4326), %(dx)s, %(dy)s)
  AND %(code)s IN (i.grid_code, i.community_code, i.street_code, i.district_code,
                   i.responsible_area_code)
ORDER BY i.id
LIMIT %(limit)s
"""


def open_incidents_of(
    conn: Connection[Any], code: str, geom: BaseGeometry, margin_m: float, limit: int = 21
) -> list[str]:
    """Public ids of open incidents assigned to area `code` (which covers `geom`)."""
    lat = max(abs(geom.bounds[1]), abs(geom.bounds[3]))
    dx, dy = degrees_for(margin_m, lat)
    rows = conn.execute(
        OPEN_INCIDENTS_OF_SQL,
        {"wkb": geom.envelope.wkb, "dx": dx, "dy": dy, "code": code, "limit": limit},
    ).fetchall()
    return [r["public_id"] for r in rows]
