"""Set-based assignment of many points to grids at once (after a boundary import, a bulk load).

One statement for the whole table, driven from the grids: each current grid part makes one GiST
probe into the points' index and returns the ~hundreds of points it covers. Driving from the
points instead (one probe into `area_parts` per point) is 7-8x slower for a million points
(docs/performance.md). The rule is the same as gis.assign.ASSIGN_SQL's `inside` step: the grid
whose part covers the point, the lowest code on a shared edge. Rows no grid covers are left as
they are: the nearest-grid and outside rules need the per-point gis.assign.assign_point.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from gis.assign import GRID_RANK

GRID_DRIVEN_SQL = """
UPDATE {table} p SET {code} = m.code
FROM (
    -- min(code): a point on an edge shared by two grids goes to the lowest code
    SELECT q.id, min(g.code) AS code
    FROM area_parts g
    CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a subquery the planner cannot flatten into a join it would
        -- drive from the points' side: each grid part makes exactly one probe on their index.
        SELECT p.{id} AS id FROM {table} p WHERE ST_Covers(g.geom, p.{geom}) OFFSET 0
    ) q
    WHERE g.level_rank = %(rank)s
    GROUP BY q.id
) m
WHERE m.id = p.{id} AND p.{code} IS DISTINCT FROM m.code
"""


def assign_points_to_grids(
    conn: Connection[Any],
    table: str,
    *,
    id_column: str = "id",
    geom_column: str = "geom",
    code_column: str = "grid_code",
) -> int:
    """Write the covering grid's code into every point row of `table` (needs a GiST index on its
    geometry); returns how many rows changed."""
    query = sql.SQL(GRID_DRIVEN_SQL).format(
        table=sql.Identifier(*table.split(".")),
        id=sql.Identifier(id_column),
        geom=sql.Identifier(geom_column),
        code=sql.Identifier(code_column),
    )
    return conn.execute(query, {"rank": GRID_RANK}).rowcount


# Open incidents whose grid may have changed after a grid import, found in one grid-driven pass
# (the plan of GRID_DRIVEN_SQL, restricted to open incidents): the point's covering grid now
# differs from the stored one, or no grid covers it any more while one is stored. Incidents
# outside every grid with none stored (a community without grids) are not candidates. Locked:
# the caller re-assigns each with the full rules and updates the ones that really move.
OPEN_INCIDENTS_TO_REGRID_SQL = """
WITH cover AS (
    SELECT q.id, min(g.code) AS code  -- lowest code on a shared edge, as in ASSIGN_SQL
    FROM area_parts g
    CROSS JOIN LATERAL (
        -- OFFSET 0: one probe per grid part into the incidents' GiST index (see above)
        SELECT i.id FROM incidents i
        WHERE ST_Covers(g.geom, i.geom) AND i.status NOT IN ('closed', 'rejected')
        OFFSET 0
    ) q
    WHERE g.level_rank = %(rank)s
    GROUP BY q.id
)
SELECT i.id, i.public_id, i.status, i.category_code, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
       i.grid_code, i.community_code, i.street_code, i.district_code,
       i.responsible_area_code, i.department_code
FROM incidents i LEFT JOIN cover c ON c.id = i.id
WHERE i.status NOT IN ('closed', 'rejected') AND c.code IS DISTINCT FROM i.grid_code
ORDER BY i.id
FOR UPDATE OF i
"""


def open_incidents_to_regrid(conn: Connection[Any]) -> list[dict[str, Any]]:
    """Open incidents whose covering grid differs from their stored grid, by id, locked."""
    rows = conn.execute(OPEN_INCIDENTS_TO_REGRID_SQL, {"rank": GRID_RANK}).fetchall()
    return [dict(r) for r in rows]
