"""Spatial SQL of 大联勤 patrols: storing GPS fixes, the clean track, the last patrolled days.

A *clean* fix is one neither `inaccurate` nor a `jump`. A *segment* joins two consecutive clean
fixes of one patrol at most `max_segment_s` apart (longer gaps: signal lost, not counted). A
segment belongs to the grid of its first fix and to that fix's local day. Per grid and period:

- distance_m: the segments' lengths on the spheroid;
- seconds: the segments' durations;
- covered_share: with base-map roads in the grid, the share of their length within `buffer_m` of
  the period's tracks in the grid; without roads, the share of the grid's area within `buffer_m`.

Those per-grid figures are kept current by the coverage fold: gis/patrol_cells.py.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8

# The patrol row, locked: one batch of a patrol at a time (taken in its own statement, so that
# ADD_FIXES_SQL's snapshot, taken after the wait, holds the batch that held the lock).
LOCK_PATROL_SQL = "SELECT id, leader_user_id, ended_at FROM patrols WHERE id = %s FOR UPDATE"

# Great-circle distance (m) from fix a to fix b, as haversine_m computes it.
_HAVERSINE = """2 * {r} * asin(least(1.0, sqrt(
    sin((radians({lat_b}) - radians({lat_a})) / 2) ^ 2
    + cos(radians({lat_a})) * cos(radians({lat_b})) * sin(radians({lon_b} - {lon_a}) / 2) ^ 2)))"""

# One batch of fixes in one statement: arrays of client ids, times, lon, lat, accuracy.
# - A fix whose client id is stored already (or repeated in the batch: the first counts) is a
#   duplicate; the others are stored with their grid and the flags `inaccurate` and `outside`
#   (one look-up in area_parts per fix: the grid is the lowest code among the covering grids,
#   outside means no area covers it).
# - Jumps are judged in time order (at, client id) from the earliest new fix t0 on: `seq` holds
#   the anchor (the last clean fix before t0), the accurate fixes stored from t0 on and the
#   accurate new ones; `judge` walks it carrying the last clean fix. A fix is a jump when it lies
#   at most %(max_seg)s after that fix and was reached faster than %(max_mps)s. New fixes are
#   inserted with their flag; stored ones whose flag changed are updated.
# - The 15-minute pieces whose segments may have changed (from %(max_seg)s before the earliest
#   new or re-judged fix to the latest) are marked for the coverage fold (gis.patrol_cells); an
#   upsert, so that a fold taking the mark waits for this batch to commit.
# - When anything was stored, the live stream is told the patrol's newest clean fix (the last
#   clean one of `seq`: every accurate fix from t0 on is in it, and the anchor before them).
# One row back: how many were stored and, per flag, the batch's client ids bearing it.
ADD_FIXES_SQL = (
    "WITH RECURSIVE"  # noqa: S608 (constants only)
    + """
batch AS (
    SELECT u.client_id, u.at, u.lon, u.lat, u.acc, u.n
    FROM unnest(%(ids)s::text[], %(ats)s::timestamptz[], %(lons)s::float8[],
                %(lats)s::float8[], %(accs)s::float8[]) WITH ORDINALITY
         AS u(client_id, at, lon, lat, acc, n)
),
old AS (
    SELECT s.client_id, s.inaccurate, s.jump, s.outside FROM patrol_fixes s
    WHERE s.patrol_id = %(patrol)s AND s.client_id IN (SELECT client_id FROM batch)
),
new AS (
    SELECT DISTINCT ON (b.client_id) b.client_id, b.at, b.lon, b.lat, b.acc, g.geom,
           k.grid_code, coalesce(b.acc > %(max_acc)s, false) AS inaccurate,
           k.parts = 0 AS outside
    FROM batch b
    CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326) AS geom) g
    CROSS JOIN LATERAL (
        SELECT min(p.code) FILTER (WHERE p.level_rank = 4) AS grid_code, count(*) AS parts
        FROM area_parts p WHERE ST_Covers(p.geom, g.geom)) k
    WHERE b.client_id NOT IN (SELECT client_id FROM old)
    ORDER BY b.client_id, b.n
),
t0 AS (SELECT min(at) AS t0 FROM new),
seq AS (
    SELECT x.*, row_number() OVER (ORDER BY x.anchor DESC, x.at, x.client_id)::int AS n
    FROM (
        (SELECT s.client_id, s.at, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, s.jump,
                false AS fresh, true AS anchor
         FROM patrol_fixes s, t0
         WHERE s.patrol_id = %(patrol)s AND s.at < t0.t0 AND NOT s.inaccurate AND NOT s.jump
         ORDER BY s.at DESC LIMIT 1)
        UNION ALL
        SELECT s.client_id, s.at, ST_X(s.geom), ST_Y(s.geom), s.jump, false, false
        FROM patrol_fixes s, t0
        WHERE s.patrol_id = %(patrol)s AND s.at >= t0.t0 AND NOT s.inaccurate
        UNION ALL
        SELECT client_id, at, lon, lat, false, true, false FROM new WHERE NOT inaccurate
    ) x
),
arr AS (
    SELECT array_agg(at ORDER BY n) AS ats, array_agg(lon ORDER BY n) AS lons,
           array_agg(lat ORDER BY n) AS lats, count(*)::int AS m
    FROM seq
),
judge (n, last, jump) AS (
    SELECT 1, 1, false FROM arr WHERE arr.m > 0
    UNION ALL
    SELECT j.n + 1, CASE WHEN x.jump THEN j.last ELSE j.n + 1 END, x.jump
    FROM judge j
    CROSS JOIN arr
    CROSS JOIN LATERAL (
        SELECT extract(epoch FROM arr.ats[j.n + 1] - arr.ats[j.last])::float8 AS secs) s
    CROSS JOIN LATERAL (
        SELECT s.secs <= %(max_seg)s
               AND """
    + _HAVERSINE.format(
        r="6371008.8",
        lon_a="arr.lons[j.last]",
        lat_a="arr.lats[j.last]",
        lon_b="arr.lons[j.n + 1]",
        lat_b="arr.lats[j.n + 1]",
    )
    + """ / greatest(s.secs, 1.0) > %(max_mps)s AS jump) x
    WHERE j.n < arr.m
),
judged AS (
    SELECT q.client_id, q.at, q.lon, q.lat, q.fresh, q.anchor, q.jump AS was, j.jump, q.n
    FROM seq q JOIN judge j USING (n)
),
changed AS (
    UPDATE patrol_fixes s SET jump = j.jump FROM judged j
    WHERE s.patrol_id = %(patrol)s AND s.client_id = j.client_id
      AND NOT j.fresh AND NOT j.anchor AND j.jump <> j.was
    RETURNING s.client_id, s.at
),
ins AS (
    INSERT INTO patrol_fixes AS t
        (patrol_id, client_id, at, geom, accuracy_m, grid_code, inaccurate, outside, jump)
    SELECT %(patrol)s, f.client_id, f.at, f.geom, f.acc, f.grid_code, f.inaccurate, f.outside,
           coalesce(j.jump, false)
    FROM new f LEFT JOIN judged j ON j.fresh AND j.client_id = f.client_id
    ON CONFLICT (patrol_id, client_id) DO NOTHING
    RETURNING t.client_id, t.inaccurate, t.jump, t.outside
),
span AS (
    SELECT min(at) AS lo, max(at) AS hi
    FROM (SELECT at FROM new UNION ALL SELECT at FROM changed) x
),
marked AS (
    INSERT INTO patrol_cover_dirty AS m (patrol_id, chunk)
    SELECT %(patrol)s, c
    FROM span, generate_series(floor((extract(epoch FROM span.lo) - %(max_seg)s) / 900)::int,
                               floor(extract(epoch FROM span.hi) / 900)::int) c
    WHERE EXISTS (SELECT 1 FROM ins) OR EXISTS (SELECT 1 FROM changed)
    ON CONFLICT (patrol_id, chunk) DO UPDATE SET marks = m.marks + 1
),
fl AS (
    SELECT client_id, inaccurate, jump, outside FROM ins
    UNION ALL
    SELECT o.client_id, o.inaccurate, coalesce(j.jump, o.jump), o.outside
    FROM old o LEFT JOIN judged j ON NOT j.fresh AND j.client_id = o.client_id
)
SELECT (SELECT count(*) FROM ins)::int AS stored,
       (SELECT count(*) FROM changed)::int AS rejudged,
       coalesce((SELECT array_agg(client_id ORDER BY client_id) FROM fl WHERE inaccurate),
                '{}') AS inaccurate,
       coalesce((SELECT array_agg(client_id ORDER BY client_id) FROM fl WHERE jump),
                '{}') AS jump,
       coalesce((SELECT array_agg(client_id ORDER BY client_id) FROM fl WHERE outside),
                '{}') AS outside,
       (SELECT count(pg_notify(%(channel)s, json_build_object(
                   'patrol', p.id, 'leader', p.leader, 'department', p.department_code,
                   'area', p.area_code, 'lon', l.lon, 'lat', l.lat, 'at', l.at)::text)::text)
        FROM patrols p,
             (SELECT lon, lat, at FROM judged WHERE NOT jump ORDER BY n DESC LIMIT 1) l
        WHERE p.id = %(patrol)s AND EXISTS (SELECT 1 FROM ins))::int AS notified
"""
)

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

# Current grids under %(root)s (every grid when NULL).
GRIDS_UNDER_CTE = """
sub AS (
    SELECT code, name, level FROM areas
    WHERE valid_to IS NULL AND (%(root)s::text IS NULL AND parent_code IS NULL OR code = %(root)s)
    UNION
    SELECT a.code, a.name, a.level FROM areas a JOIN sub ON a.parent_code = sub.code
    WHERE a.valid_to IS NULL
)"""

# The last local day each grid under %(root)s was patrolled: its last folded grid-day (a day
# on which a segment of clean fixes starts in it; gis.patrol_cells), or a day pruned before
# migration 0033. One index probe per grid (the primary key), whatever the fixes' volume.
LAST_PATROLLED_SQL = (
    "WITH RECURSIVE "  # noqa: S608 (constants only)
    + GRIDS_UNDER_CTE
    + """
SELECT g.code, g.name,
       (SELECT max(d.day) FROM patrol_grid_days d WHERE d.grid_code = g.code) AS last_day
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
