"""Spatial SQL of 大联勤 patrols: storing GPS fixes, the clean track, coverage per grid and day.

A *clean* fix is one neither `inaccurate` nor a `jump`. A *segment* joins two consecutive clean
fixes of one patrol at most `max_segment_s` apart (longer gaps: signal lost, not counted). A
segment belongs to the grid of its first fix and to that fix's local day. Per grid and period:

- distance_m: the segments' lengths on the spheroid;
- seconds: the segments' durations;
- covered_share: with base-map roads in the grid, the share of their length within `buffer_m` of
  the period's tracks in the grid; without roads, the share of the grid's area within `buffer_m`.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8

# One batch of fixes: arrays of client ids, times, lon, lat, accuracy. A fix with a client id
# already stored (or repeated in the batch) is skipped; RETURNING lists the fixes stored now.
INSERT_FIXES_SQL = """
WITH f AS (
    SELECT u.client_id, u.at, u.acc, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
    FROM unnest(%(ids)s::text[], %(ats)s::timestamptz[], %(lons)s::float8[],
                %(lats)s::float8[], %(accs)s::float8[]) AS u(client_id, at, lon, lat, acc)
)
INSERT INTO patrol_fixes AS t
    (patrol_id, client_id, at, geom, accuracy_m, grid_code, inaccurate, outside)
SELECT %(patrol)s, f.client_id, f.at, f.geom, f.acc,
    (SELECT p.code FROM area_parts p
     WHERE p.level_rank = 4 AND ST_Covers(p.geom, f.geom) ORDER BY p.code LIMIT 1),
    coalesce(f.acc > %(max_acc)s, false),
    NOT EXISTS (SELECT 1 FROM area_parts p WHERE ST_Covers(p.geom, f.geom))
FROM f
ON CONFLICT (patrol_id, client_id) DO NOTHING
RETURNING t.client_id, t.at
"""

# The fixes whose jump flag a batch starting at %(t0)s may change: the last clean fix before it
# (the anchor, first row) and every accurate fix from t0 on, in time order.
RECHECK_SQL = """
(SELECT client_id, at, ST_X(geom) AS lon, ST_Y(geom) AS lat, jump, true AS anchor
 FROM patrol_fixes WHERE patrol_id = %(patrol)s AND at < %(t0)s AND NOT inaccurate AND NOT jump
 ORDER BY at DESC LIMIT 1)
UNION ALL
(SELECT client_id, at, ST_X(geom), ST_Y(geom), jump, false
 FROM patrol_fixes WHERE patrol_id = %(patrol)s AND at >= %(t0)s AND NOT inaccurate
 ORDER BY at, client_id)
"""

SET_JUMP_SQL = """
UPDATE patrol_fixes SET jump = u.jump
FROM unnest(%(ids)s::text[], %(jumps)s::bool[]) AS u(client_id, jump)
WHERE patrol_fixes.patrol_id = %(patrol)s AND patrol_fixes.client_id = u.client_id
"""

# Segments of clean fixes; %(where)s-free: callers add the time window through the params.
SEGMENTS_CTE = """
seg AS (
    SELECT s.patrol_id, s.prev_grid AS grid_code, s.prev_at AS at,
           ST_Distance(s.prev_geom::geography, s.geom::geography) AS d,
           extract(epoch FROM s.at - s.prev_at) AS secs,
           ST_MakeLine(s.prev_geom, s.geom) AS line
    FROM (
        SELECT f.patrol_id, f.at, f.geom,
               lag(f.at) OVER w AS prev_at, lag(f.geom) OVER w AS prev_geom,
               lag(f.grid_code) OVER w AS prev_grid
        FROM patrol_fixes f
        WHERE NOT f.inaccurate AND NOT f.jump
          AND f.at >= %(since)s - make_interval(secs => %(max_seg)s) AND f.at < %(until)s
          AND (%(patrol)s::bigint IS NULL OR f.patrol_id = %(patrol)s)
        WINDOW w AS (PARTITION BY f.patrol_id ORDER BY f.at, f.client_id)
    ) s
    WHERE s.prev_at IS NOT NULL AND s.prev_at >= %(since)s
      AND s.at - s.prev_at <= make_interval(secs => %(max_seg)s)
)"""

# Distance (m) and moving time (s) of one patrol's clean track.
PATROL_TOTALS_SQL = (
    "WITH "
    + SEGMENTS_CTE
    + """
SELECT coalesce(sum(d), 0) AS distance_m, coalesce(sum(secs), 0) AS seconds FROM seg"""
)

# Per grid (and local day when %(by_day)s): distance, time, patrols and covered share.
# %(roads)s: whether basemap_roads holds streets (the caller checks the table exists).
COVERAGE_SQL = (
    "WITH "  # noqa: S608 (constants only)
    + SEGMENTS_CTE
    + """,
per AS (
    SELECT seg.grid_code,
           CASE WHEN %(by_day)s THEN (seg.at AT TIME ZONE %(tz)s)::date END AS day,
           sum(seg.d) AS distance_m, sum(seg.secs) AS seconds,
           count(DISTINCT seg.patrol_id) AS patrols,
           -- merged and simplified (1e-5° ≈ 1 m) before buffering: a walk that goes back and
           -- forth over the same streets buffers 3-30 times faster (bench/patrol.py)
           ST_Buffer(ST_Simplify(ST_LineMerge(ST_Collect(seg.line)), 1e-5)::geography,
                     %(buffer_m)s, 'quad_segs=4')::geometry AS reach
    FROM seg WHERE seg.grid_code IS NOT NULL
    GROUP BY 1, 2
)
SELECT per.grid_code, per.day, per.distance_m, per.seconds, per.patrols,
       CASE WHEN r.len > 0 THEN r.covered / r.len
            ELSE ST_Area(ST_Intersection(g.geom, per.reach)::geography)
                 / nullif(ST_Area(g.geom::geography), 0) END AS covered_share
FROM per
JOIN areas g ON g.code = per.grid_code AND g.valid_to IS NULL
LEFT JOIN LATERAL (
    SELECT sum(ST_Length(ST_Intersection(x.line, per.reach)::geography)) AS covered,
           sum(ST_Length(x.line::geography)) AS len
    FROM (SELECT ST_Intersection(b.geom, g.geom) AS line FROM basemap_roads b
          WHERE %(roads)s AND b.geom && g.geom AND ST_Intersects(b.geom, g.geom)) x
) r ON true
ORDER BY per.grid_code, per.day
"""
)

# Current grids under %(root)s (every grid when NULL).
GRIDS_UNDER_CTE = """
sub AS (
    SELECT code, name, level FROM areas
    WHERE valid_to IS NULL AND (%(root)s::text IS NULL AND parent_code IS NULL OR code = %(root)s)
    UNION
    SELECT a.code, a.name, a.level FROM areas a JOIN sub ON a.parent_code = sub.code
    WHERE a.valid_to IS NULL
)"""

# The last local day each grid under %(root)s was patrolled (fixes, then pruned figures).
LAST_PATROLLED_SQL = (
    "WITH RECURSIVE "  # noqa: S608 (constants only)
    + GRIDS_UNDER_CTE
    + """
SELECT g.code, g.name, greatest(
    (SELECT max((f.at AT TIME ZONE %(tz)s)::date) FROM patrol_fixes f
     WHERE f.grid_code = g.code AND NOT f.inaccurate AND NOT f.jump),
    (SELECT max(d.day) FROM patrol_grid_days d WHERE d.grid_code = g.code)) AS last_day
FROM sub g WHERE g.level = 'grid'
ORDER BY g.code
"""
)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (the jump check; distances stored come from PostGIS)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# Codes and names of the current grids under %(root)s (every grid when NULL).
GRIDS_SQL = (
    "WITH RECURSIVE "  # noqa: S608 (constants only)
    + GRIDS_UNDER_CTE
    + " SELECT code, name FROM sub WHERE level = 'grid' ORDER BY code"
)
