"""Walking distance along the base map's streets (pgRouting), for 就近派遣.

The graph (`basemap_walk_edges`) is made from `basemap_roads` at each base map import, in the
import's transaction. OpenStreetMap joins two ways where they share a node, so a way is cut at
every node another way shares (and at its ends), and each piece becomes one undirected edge
whose cost is its length on the spheroid in metres. Ways that cross without a shared node (a
bridge over a street, a tunnel) stay apart, as on the ground. Motorways are left out: no one
walks or rides an e-bike there.

A trip starts and ends off the graph: a point is snapped to its nearest edge within
`SNAP_M` (a road further off means it cannot be reached on foot from the data we have) at the
fraction of the edge nearest to it, and walks straight to it; `pgr_withPointsCost` finds the
cheapest way between those places on the edges. The walk is the sum of both straight legs and
that cost. Only edges inside the points' box widened by `DETOUR_M` are searched, so a query
reads a district's streets, not a province's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection, sql

SNAP_M = 250.0  # a point further than this from every street is not routed
DETOUR_M = 2000.0  # how far outside the points' box a walk may go

# Rebuild the graph from basemap_roads (inside the import's transaction).
BUILD_SQL = """
DELETE FROM basemap_walk_edges;
WITH road AS (
    SELECT id, geom FROM basemap_roads
    WHERE class NOT IN ('motorway', 'motorway_link') AND ST_NPoints(geom) >= 2
), pt AS (
    SELECT r.id AS road, d.path[1] AS i, ST_NPoints(r.geom) AS n, d.geom,
           ST_X(d.geom) AS x, ST_Y(d.geom) AS y
    FROM road r, ST_DumpPoints(r.geom) d
), shared AS (
    SELECT x, y FROM pt GROUP BY x, y HAVING count(DISTINCT road) > 1
), cut AS (
    SELECT pt.road, pt.i, lead(pt.i) OVER (PARTITION BY pt.road ORDER BY pt.i) AS next_i
    FROM pt
    WHERE pt.i = 1 OR pt.i = pt.n OR EXISTS (SELECT 1 FROM shared s WHERE s.x = pt.x AND s.y = pt.y)
), piece AS (
    SELECT c.road, c.i, ST_MakeLine(p.geom ORDER BY p.i) AS geom
    FROM cut c JOIN pt p ON p.road = c.road AND p.i BETWEEN c.i AND c.next_i
    WHERE c.next_i IS NOT NULL
    GROUP BY c.road, c.i
), ends AS (
    SELECT geom, ST_X(ST_StartPoint(geom)) AS x0, ST_Y(ST_StartPoint(geom)) AS y0,
           ST_X(ST_EndPoint(geom)) AS x1, ST_Y(ST_EndPoint(geom)) AS y1
    FROM piece
), node AS (
    SELECT x0 AS x, y0 AS y FROM ends UNION SELECT x1, y1 FROM ends
), numbered AS (  -- joined on coordinates (hash joins: the graph's cost grows with its size)
    SELECT row_number() OVER (ORDER BY x, y) AS id, x, y FROM node
)
INSERT INTO basemap_walk_edges (source, target, length_m, geom)
SELECT s.id, t.id, ST_Length(ends.geom::geography), ends.geom
FROM ends
JOIN numbered s ON s.x = ends.x0 AND s.y = ends.y0
JOIN numbered t ON t.x = ends.x1 AND t.y = ends.y1
WHERE ST_Length(ends.geom::geography) > 0;
"""

AVAILABLE_SQL = """
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgrouting')
   AND EXISTS (SELECT 1 FROM basemap_walk_edges) AS ok"""

# Each point (key, lon, lat) on its nearest edge within SNAP_M: the edge, where on it, how far.
SNAP_SQL = """
SELECT q.k, e.id AS edge, ST_LineLocatePoint(e.geom, q.geom) AS fraction,
       ST_Distance(q.geom::geography, e.geom::geography) AS off_m
FROM (SELECT k, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom
      FROM unnest(%(keys)s::bigint[], %(lons)s::float8[], %(lats)s::float8[]) AS u(k, lon, lat)) q
CROSS JOIN LATERAL (
    SELECT id, geom FROM basemap_walk_edges
    WHERE ST_DWithin(geom::geography, q.geom::geography, %(snap)s)
    ORDER BY geom <-> q.geom LIMIT 1) e"""

EDGES_SQL = """SELECT id, source, target, length_m AS cost, length_m AS reverse_cost
FROM basemap_walk_edges
WHERE geom && ST_Expand(ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326), {pad})"""

COST_SQL = """
SELECT end_pid AS pid, agg_cost FROM pgr_withPointsCost(
    %(edges)s, %(points)s, %(start)s, %(ends)s::bigint[], directed => false)"""


def build_walk_graph(conn: Connection[Any]) -> int:
    """Make the walking graph anew from the base map's roads; the number of edges."""
    conn.execute(BUILD_SQL)
    row = conn.execute("SELECT count(*) AS n FROM basemap_walk_edges").fetchone()
    return int(row["n"]) if row else 0


def can_route(conn: Connection[Any]) -> bool:
    """pgRouting is installed in the database and the base map has streets to walk."""
    row = conn.execute(AVAILABLE_SQL).fetchone()
    return bool(row and row["ok"])


def walking_m(
    conn: Connection[Any], origin: tuple[float, float], targets: Sequence[tuple[float, float]]
) -> list[float | None] | None:
    """Walking distance in metres from `origin` (lon, lat) to each target, in order; None for a
    target more than SNAP_M from every street or that no street joins to the origin. None as a
    whole when the origin itself lies more than SNAP_M from every street. Call only when
    `can_route`."""
    points = [origin, *targets]
    rows = conn.execute(
        SNAP_SQL,
        {
            "keys": list(range(len(points))),
            "lons": [p[0] for p in points],
            "lats": [p[1] for p in points],
            "snap": SNAP_M,
        },
    ).fetchall()
    snapped = {r["k"]: (r["edge"], r["fraction"], r["off_m"]) for r in rows}
    if 0 not in snapped:
        return None
    out: list[float | None] = [None] * len(targets)
    if len(snapped) < 2:
        return out
    # pid k + 1 (pgRouting's point ids are positive; the query names them negative)
    values = sql.SQL(", ").join(
        sql.SQL("({}, {}, {})").format(sql.Literal(k + 1), sql.Literal(e), sql.Literal(f))
        for k, (e, f, _) in snapped.items()
    )
    points_sql = sql.SQL(
        "SELECT pid::bigint, edge_id::bigint, fraction::float8 "
        "FROM (VALUES {}) AS p(pid, edge_id, fraction)"
    ).format(values)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad = DETOUR_M / 111_000.0
    edges_sql = sql.SQL(EDGES_SQL).format(
        x0=sql.Literal(min(xs)),
        y0=sql.Literal(min(ys)),
        x1=sql.Literal(max(xs)),
        y1=sql.Literal(max(ys)),
        pad=sql.Literal(pad),
    )
    ends = [-(k + 1) for k in snapped if k != 0]
    cost_rows = conn.execute(
        COST_SQL,
        {
            "edges": edges_sql.as_string(conn),
            "points": points_sql.as_string(conn),
            "start": -1,
            "ends": ends,
        },
    ).fetchall()
    start_off = snapped[0][2]
    for r in cost_rows:
        k = -int(r["pid"]) - 1
        out[k - 1] = start_off + float(r["agg_cost"]) + snapped[k][2]
    return out
