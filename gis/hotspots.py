"""Hotspots: space-time clusters of incidents (DBSCAN in metres), as GeoJSON built in SQL.

Incidents reported in a time window are clustered with `ST_ClusterDBSCAN` on coordinates in
metres: each point is projected to its own WGS 84 / UTM zone (EPSG:326zz north, 327zz south,
zone = ⌊(lon + 180) / 6⌋ + 1), and clustering runs per zone (`PARTITION BY`), so `radius_m` is a
true distance (UTM scale error < 0.1 % inside a zone) and never raw degrees. A cluster that would
straddle a zone boundary (a meridian at a multiple of 6°, e.g. 114°E or 120°E) is split in two
there. Hull and centre are computed in the zone's metres and transformed back to EPSG:4326.

Points enter the clustering in report order (`reported_at`, then id). DBSCAN gives a border point
(within `radius_m` of core points of two clusters, itself not a core point) to the cluster that
reaches it first, so the order decides it: a fixed order gives the same answer on every call,
whatever plan PostgreSQL chose (a parallel scan returns rows in any order).

The features are built as `json` (text: no binary `jsonb` to build and print again) and passed
on as the database wrote them (no parse and re-serialisation of ≈ 1.3 MB in Python for a week
of a city).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from gis.rows import one_row

HOTSPOTS_SQL = """
WITH pts AS MATERIALIZED (
    SELECT i.id, i.public_id, i.category_code, i.reported_at, i.status, u.utm,
           ST_Transform(i.geom, u.utm) AS xy
    FROM incidents i
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Y(i.geom) >= 0 THEN 32600 ELSE 32700 END
                   + least(60, floor((ST_X(i.geom) + 180) / 6)::int + 1) AS utm) u
    WHERE i.reported_at >= %(since)s AND i.reported_at < %(until)s
      AND i.status <> 'rejected'
      AND (%(category)s::text IS NULL OR starts_with(i.category_code, %(category)s::text))
      AND {scope}
),
clustered AS MATERIALIZED (
    SELECT c.* FROM (
        SELECT p.*, ST_ClusterDBSCAN(p.xy, eps := %(radius)s, minpoints := %(min_count)s)
                        OVER (PARTITION BY p.utm ORDER BY p.reported_at, p.id) AS cid
        FROM pts p) c
    WHERE c.cid IS NOT NULL
),
hot AS (
    SELECT utm, cid, n, open_n, first_at, last_at, ST_ConvexHull(xys) AS hull_xy,
           ST_Centroid(xys) AS centre_xy, ids
    FROM (SELECT utm, cid, count(*) AS n, count(*) FILTER (WHERE status <> 'closed') AS open_n,
                 min(reported_at) AS first_at, max(reported_at) AS last_at, ST_Collect(xy) AS xys,
                 json_agg(public_id ORDER BY reported_at, id) AS ids
          FROM clustered
          GROUP BY utm, cid) h
),
cats AS (
    SELECT utm, cid, json_agg(json_build_object('code', code, 'name', name, 'count', n)
                               ORDER BY n DESC, code) AS categories
    FROM (SELECT c.utm, c.cid, c.category_code AS code, k.name, count(*) AS n
          FROM clustered c JOIN categories k ON k.code = c.category_code
          GROUP BY c.utm, c.cid, c.category_code, k.name) x
    GROUP BY utm, cid
),
ranked AS MATERIALIZED (
    SELECT h.*, ST_Transform(h.hull_xy, 4326) AS hull, ST_Area(h.hull_xy) AS area_m2,
           row_number() OVER (ORDER BY h.n DESC, h.last_at DESC, h.utm, h.cid) AS rank
    FROM hot h
),
-- grids the hull touches, for every hull in one join: the indexable && on grid parts first,
-- then the exact test
grids AS (
    SELECT rank, json_agg(json_build_object('code', code, 'name', name) ORDER BY code) AS grids
    FROM (SELECT DISTINCT r.rank, a.code, a.name
          FROM ranked r
          JOIN area_parts p ON p.level_rank = 4 AND p.geom && r.hull
                               AND ST_Intersects(p.geom, r.hull)
          JOIN areas a ON a.id = p.area_id) g
    GROUP BY rank
)
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', 'H' || r.rank,
    'geometry', ST_AsGeoJSON(r.hull, 7)::json,
    'properties', json_build_object(
        'rank', r.rank, 'count', r.n, 'open', r.open_n,
        'first_at', r.first_at, 'last_at', r.last_at,
        'categories', c.categories, 'incidents', r.ids,
        'centroid', ST_AsGeoJSON(ST_Transform(r.centre_xy, 4326), 7)::json,
        'area_m2', round(r.area_m2::numeric, 1), 'epsg', r.utm,
        'grids', coalesce(g.grids, '[]'::json)))
    ORDER BY r.rank), '[]'::json)::text AS features
FROM ranked r JOIN cats c USING (utm, cid) LEFT JOIN grids g USING (rank)
"""


def hotspot_features(
    conn: Connection[Any],
    *,
    since: dt.datetime,
    until: dt.datetime,
    radius_m: float,
    min_count: int,
    category: str | None,
    scope: sql.Composable,
    scope_params: dict[str, Any],
) -> str:
    """Clusters of ≥ `min_count` incidents (DBSCAN core: that many within `radius_m`), as the
    JSON text of a list of GeoJSON features."""
    query = sql.SQL(HOTSPOTS_SQL).format(scope=scope)
    # The app's pool plans every parameterised statement generically (plan_cache_mode, for the
    # hot intake statements); this one's generic plan took 3.8-4.7 s where a custom plan for the
    # actual window and scope takes 0.2 s (10,000 incidents, docs/performance.md). SET LOCAL:
    # for this transaction only.
    conn.execute("SET LOCAL plan_cache_mode = auto")
    row = one_row(
        conn,
        query,
        {
            **scope_params,
            "since": since,
            "until": until,
            "radius": radius_m,
            "min_count": min_count,
            "category": category,
        },
    )
    return str(row["features"])
