"""A year of a city's cases, set-based in SQL: `python -m bench scale --incidents N` builds it.

The district of bench/synthetic.py (10,000 grids) gets N incidents reported over the 365 days
before `now`, each with the whole event log the workflow would have written for it. Every case
follows one plan row of random draws (proportions in MIX, documented in docs/performance.md,
"A year of a city"); events later than `now` are dropped, so recent cases stay open at whatever
step they had reached, as in a live system. Nothing goes through Python per row.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from psycopg import Connection, sql

from bench.dataset import build_dataset
from bench.synthetic import extent
from gis.bulk_assign import assign_points_to_grids

# Vacuumed once built, as autovacuum has done to a database that took a year to fill (inserts
# start it, PostgreSQL ≥ 13): the visibility map lets the evaluation read its rollups, facts and
# handling times from indexes alone (a year by department: 0.75 s from a freshly built table
# that no VACUUM had seen, whose index the planner then leaves for a sort; docs/performance.md)
VACUUMED = (
    "incidents",
    "incident_events",
    "whistles",
    "whistle_checkins",
    "eval_incidents",
    "eval_episodes",
    "eval_handles",
    "eval_facts",
    "eval_times",
    "eval_open",
    "eval_roll_area",
    "eval_roll_dept",
)

# Share of all incidents (kinds, adding up to 1) and of dispatched cases (the rest).
MIX = {
    "rejected invalid": 0.03,
    "rejected as duplicate": 0.04,
    "self-handled by the grid officer": 0.10,
    "dispatched (closed loop)": 0.83,
    # of dispatched cases, drawn independently:
    "returned and re-dispatched": 0.08,
    "escalated": 0.02,
    "extension asked (70 % granted)": 0.05,
    "suspended and reopened": 0.03,
    "handled late": 0.18,
    "stalled for 30-200 days (the overdue backlog)": 0.01,
    "reworked once (verify failed)": 0.06,
    "whistled (1-3 departments; 60 % on time, 25 % late, 15 % never)": 0.03,
}
HOTSPOTS = 300  # 30 % of reports fall within ≈ 50 m of one of these points

# Time limits in seconds (working days taken as natural days: the dataset needs plausible
# deadlines, not the calendar's).
LIMIT_S = {
    "SJ0101": 5 * 86400,
    "SJ0102": 86400,
    "BJ0101": 6 * 3600,
    "BJ0102": 2 * 86400,
    "YL0101": 3 * 86400,
    "SH0101": 5 * 86400,
    "QT0101": 10 * 86400,
}

PLAN_SQL = """
CREATE TEMP TABLE scale_plan AS
WITH r AS (
    SELECT %(now)s::timestamptz - random() * interval '365 days' AS t0,
           random() AS kind, random() AS u1, random() AS u2, random() AS u3, random() AS u4,
           random() AS u5, random() AS u6, random() AS u7, random() AS hot, random() AS px,
           random() AS py, floor(random() * 7)::int AS cat
    FROM generate_series(1, %(n)s)
)
SELECT %(base)s + row_number() OVER (ORDER BY t0) AS id, r.*,
       (ARRAY['SJ0101', 'SJ0102', 'BJ0101', 'BJ0102', 'YL0101', 'SH0101', 'QT0101'])[cat + 1]
           AS category
FROM r
"""

POINTS_SQL = """
CREATE TEMP TABLE scale_points AS
SELECT p.id, ST_SetSRID(ST_MakePoint(
    CASE WHEN p.hot < 0.3
         THEN %(x0)s + (0.05 + 0.9 * ((h.c * 7919) %% 1000) / 1000.0) * %(w)s
              + (p.px - 0.5) * 0.001
         ELSE %(x0)s + p.px * %(w)s END,
    CASE WHEN p.hot < 0.3
         THEN %(y0)s + (0.05 + 0.9 * ((h.c * 104729) %% 1000) / 1000.0) * %(h)s
              + (p.py - 0.5) * 0.0008
         ELSE %(y0)s + p.py * %(h)s END), 4326) AS geom,
    NULL::text AS grid_code
FROM scale_plan p CROSS JOIN LATERAL (SELECT floor(p.u7 * %(hotspots)s)::int AS c) h
"""

# A duplicate is reported a few metres from the case it repeats (the one just before it).
DUPLICATES_SQL = """
UPDATE scale_points d
SET geom = ST_Translate(o.geom, 0.00002, 0.00001)
FROM scale_plan p, scale_points o
WHERE p.id = d.id AND p.kind >= 0.03 AND p.kind < 0.07 AND o.id = d.id - 1
"""

# Every event time of a case (NULL: that step does not happen), departments and deadlines.
TIMES_SQL = """
CREATE TEMP TABLE scale_times AS
WITH a AS (
    SELECT p.id, p.t0, p.category, p.u1, p.u2, p.u3, p.u4, p.u5, p.u6,
           CASE WHEN p.kind < 0.03 THEN 'invalid' WHEN p.kind < 0.07 THEN 'duplicate'
                WHEN p.kind < 0.17 THEN 'self' ELSE 'loop' END AS kind,
           g.code AS grid, c.code AS community, s.code AS street, d.code AS district,
           g.id AS grid_v, c.id AS community_v, s.id AS street_v, d.id AS district_v,
           q.geom, make_interval(secs => (%(limits)s::jsonb ->> p.category)::float8) AS lim,
           CASE WHEN p.category IN ('SJ0101', 'BJ0102') THEN 'CITYMGMT-' || right(s.code, 3)
                WHEN p.category = 'SJ0102' THEN 'SANITATION'
                WHEN p.category = 'BJ0101' THEN 'WATER'
                WHEN p.category = 'YL0101' THEN 'GREENING'
                ELSE 'S-' || s.code END AS lead1
    FROM scale_plan p JOIN scale_points q ON q.id = p.id
    JOIN areas g ON g.code = q.grid_code AND g.valid_to IS NULL
    JOIN areas c ON c.code = g.parent_code AND c.valid_to IS NULL
    JOIN areas s ON s.code = c.parent_code AND s.valid_to IS NULL
    JOIN areas d ON d.code = s.parent_code AND d.valid_to IS NULL
), b AS (
    SELECT a.*,
           (a.kind = 'loop' AND a.u1 < 0.08) AS ret,
           (a.kind = 'loop' AND a.u1 >= 0.08 AND a.u1 < 0.10) AS esc,
           (a.kind = 'loop' AND a.u2 < 0.05) AS ext, (a.u2 < 0.035) AS granted,
           (a.kind = 'loop' AND a.u2 >= 0.05 AND a.u2 < 0.08) AS susp,
           (a.kind = 'loop' AND a.u3 < 0.01) AS stall,
           (a.kind = 'loop' AND a.u3 >= 0.01 AND a.u3 < 0.19) AS late,
           (a.kind = 'loop' AND a.u4 < 0.06) AS rework,
           (a.kind = 'loop' AND a.u4 >= 0.06 AND a.u4 < 0.09) AS whistle,
           a.t0 + (2 + a.u5 * 58) * interval '1 minute' AS t_reg
    FROM a
), c AS (
    SELECT b.*,
           CASE WHEN b.esc THEN b.t_reg + interval '1 minute' END AS t_esc,
           b.t_reg + (5 + b.u6 * 55) * interval '1 minute' AS t_d1,
           CASE WHEN b.ret THEN b.t_reg + (15 + b.u6 * 165) * interval '1 minute' END AS t_ret,
           CASE WHEN b.ret THEN b.t_reg + (25 + b.u6 * 200) * interval '1 minute' END AS t_d2,
           CASE WHEN b.ret THEN (CASE WHEN b.lead1 LIKE 'S-%%' THEN 'D-' || b.district
                                      ELSE 'S-' || b.street END) END AS lead2
    FROM b
), d AS (
    SELECT c.*, coalesce(c.lead2, c.lead1) AS lead, coalesce(c.t_d2, c.t_d1) AS t_dl,
           coalesce(c.t_d2, c.t_d1) + c.lim AS due0,
           coalesce(c.t_d2, c.t_d1) + (5 + c.u5 * 115) * interval '1 minute' AS t_acc
    FROM c
), e AS (
    SELECT d.*,
           CASE WHEN d.ext THEN d.t_acc + interval '10 minutes' END AS t_req,
           CASE WHEN d.ext THEN d.t_acc + interval '40 minutes' END AS t_appr,
           CASE WHEN d.ext AND d.granted THEN d.due0 + d.lim / 2 ELSE d.due0 END AS due1,
           CASE WHEN d.susp THEN d.t_acc + interval '20 minutes' END AS t_susp,
           CASE WHEN d.susp THEN d.t_acc + interval '20 minutes'
                                 + (1 + d.u6 * 4) * interval '1 day' END AS t_reopen
    FROM d
), f AS (
    SELECT e.*, CASE WHEN e.susp THEN e.t_reopen + (e.due1 - e.t_susp) ELSE e.due1 END AS due2,
           greatest(e.t_acc, e.t_appr, e.t_reopen) + interval '1 minute' AS t_base
    FROM e
), g AS (
    SELECT f.*, CASE
        WHEN f.kind = 'self' THEN f.t0 + (10 + f.u5 * 230) * interval '1 minute'
        WHEN f.kind <> 'loop' THEN NULL
        WHEN f.stall THEN greatest(f.due2, f.t_base) + (30 + f.u6 * 170) * interval '1 day'
        WHEN f.late OR f.due2 <= f.t_base
            THEN greatest(f.due2, f.t_base) + (0.05 + f.u6) * f.lim
        ELSE f.t_base + f.u6 * 0.9 * (f.due2 - f.t_base) END AS t_h
    FROM f
)
SELECT g.*,
       CASE WHEN g.kind IN ('invalid', 'duplicate')
            THEN g.t0 + (5 + g.u5 * 115) * interval '1 minute' END AS t_rej,
       CASE WHEN g.rework THEN g.t_h + (1 + g.u4 * 40) * interval '1 hour' END AS t_fail,
       CASE WHEN g.rework THEN g.t_h + (3 + g.u4 * 100) * interval '1 hour' END AS t_h2,
       CASE WHEN g.t_h IS NOT NULL
            THEN g.t_h + (CASE WHEN g.rework THEN 4 + g.u4 * 130 ELSE 0 END
                          + 0.5 + g.u3 * 23.5) * interval '1 hour' END AS t_ver,
       CASE WHEN g.whistle THEN g.t_dl + interval '1 minute' END AS t_wh
FROM g
"""

# Every event a case's plan implies, with the statuses and data the workflow writes.
EVENTS_SQL = """
CREATE TEMP TABLE scale_events AS
SELECT t.id AS incident_id, v.*
FROM scale_times t CROSS JOIN LATERAL (VALUES
    (t.t0, 'report', NULL, 'reported', t.lead1, '{}'::jsonb),
    (t.t_rej, 'reject', 'reported', 'rejected', NULL,
     CASE WHEN t.kind = 'duplicate'
          THEN jsonb_build_object('reason', 'duplicate', 'duplicate_of', t.id - 1)
          ELSE '{"reason": "invalid"}' END),
    (CASE WHEN t.kind = 'self' THEN t.t_h END, 'self_handle', 'reported', 'handled', NULL,
     '{}'),
    (CASE WHEN t.kind = 'loop' THEN t.t_reg END, 'register', 'reported', 'registered', t.lead1,
     '{}'),
    (t.t_esc, 'escalate', 'registered', 'registered', t.lead1,
     jsonb_build_object('from_area', t.grid, 'to_area', t.community, 'to_level', 'community',
                        'escalation_level', 1)),
    (CASE WHEN t.kind = 'loop' THEN t.t_d1 END, 'dispatch', 'registered', 'dispatched', t.lead1,
     jsonb_build_object('lead', t.lead1, 'supporting', '[]'::jsonb, 'due_at', t.t_d1 + t.lim)),
    (t.t_wh, 'whistle', 'dispatched', 'dispatched', NULL,
     jsonb_build_object('whistle_id', t.id, 'deadline_minutes', 60)),
    (t.t_ret, 'return', 'dispatched', 'registered', t.lead1, '{}'),
    (t.t_d2, 'dispatch', 'registered', 'dispatched', t.lead2,
     jsonb_build_object('lead', t.lead2, 'supporting', '[]'::jsonb, 'due_at', t.t_d2 + t.lim)),
    (CASE WHEN t.kind = 'loop' THEN t.t_acc END, 'accept', 'dispatched', 'in_progress', t.lead,
     '{}'),
    (t.t_req, 'request_extension', 'in_progress', 'in_progress', t.lead,
     jsonb_build_object('until', t.due0 + t.lim / 2, 'due_at', t.due0)),
    (t.t_appr, 'approve_extension', 'in_progress', 'in_progress', t.lead,
     jsonb_build_object('approved', t.granted, 'previous_due_at', t.due0, 'due_at', t.due1)),
    (t.t_susp, 'suspend', 'in_progress', 'suspended', t.lead,
     jsonb_build_object('due_left_s', extract(epoch FROM t.due1 - t.t_susp))),
    (t.t_reopen, 'reopen', 'suspended', 'in_progress', t.lead,
     jsonb_build_object('due_at', t.due2)),
    (CASE WHEN t.kind = 'loop' THEN t.t_h END, 'handle', 'in_progress', 'handled', t.lead, '{}'),
    (t.t_fail, 'verify', 'handled', 'in_progress', t.lead,
     '{"passed": false, "rework_count": 1}'),
    (t.t_h2, 'handle', 'in_progress', 'handled', t.lead, '{}'),
    (t.t_ver, 'verify', 'handled', 'closed', CASE WHEN t.kind = 'loop' THEN t.lead END,
     jsonb_build_object('passed', true, 'rework_count', CASE WHEN t.rework THEN 1 ELSE 0 END))
) AS v(at, action, from_status, to_status, dept, data)
WHERE v.at IS NOT NULL AND v.at <= %(now)s
"""

# The incidents as the workflow leaves them: status and columns of their last kept event.
INCIDENTS_SQL = """
INSERT INTO incidents (
    id, public_id, geom, orig_x, orig_y, orig_crs, category_code, description, source, status,
    method, grid_code, community_code, street_code, district_code, responsible_area_code,
    grid_version_id, community_version_id, street_version_id, district_version_id,
    department_code, assignment, due_at, reported_at, updated_at, closed_at, rework_count,
    escalation_level, suspended_from, due_left_s)
SELECT t.id, to_char(t.t0 AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
             || lpad(t.id::text, greatest(6, length(t.id::text)), '0'),
       t.geom, ST_X(t.geom), ST_Y(t.geom), 'EPSG:4326', t.category, '规模测试', 'patrol',
       l.to_status, 'inside', t.grid, t.community, t.street, t.district,
       CASE WHEN t.t_esc <= %(now)s THEN t.community ELSE t.grid END,
       t.grid_v, t.community_v, t.street_v, t.district_v,
       CASE WHEN l.to_status IN ('dispatched', 'in_progress', 'handled', 'suspended', 'closed')
                 AND t.kind = 'loop' THEN CASE WHEN t.t_d2 <= %(now)s THEN t.lead2 ELSE t.lead1 END
            WHEN l.to_status IN ('reported', 'registered') THEN t.lead1 END,
       jsonb_build_object('grid', jsonb_build_object('code', t.grid), 'method', 'inside',
                          'responsible_area', t.grid,
                          'department', jsonb_build_object('code', t.lead1)),
       CASE WHEN l.to_status IN ('dispatched', 'in_progress', 'handled') AND t.kind = 'loop'
            THEN CASE WHEN t.t_reopen <= %(now)s THEN t.due2 WHEN t.t_appr <= %(now)s THEN t.due1
                      ELSE coalesce(t.t_d2, t.t_d1) + t.lim END END,
       t.t0, l.at, CASE WHEN l.to_status IN ('closed', 'rejected') THEN l.at END,
       CASE WHEN t.t_fail <= %(now)s THEN 1 ELSE 0 END,
       CASE WHEN t.t_esc <= %(now)s THEN 1 ELSE 0 END,
       CASE WHEN l.to_status = 'suspended' THEN 'in_progress' END,
       CASE WHEN l.to_status = 'suspended' THEN extract(epoch FROM t.due1 - t.t_susp) END
FROM scale_times t
JOIN (SELECT DISTINCT ON (incident_id) incident_id, to_status, at FROM scale_events
      ORDER BY incident_id, at DESC) l ON l.incident_id = t.id
ORDER BY t.id
"""

# In time order, as the workflow appends them (ids grow with time in each incident's log); a
# duplicate names its original by public id.
EVENTS_INSERT_SQL = """
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                             department_code, data)
SELECT e.incident_id, e.at, 'bench', e.action, e.from_status, e.to_status, e.dept,
       CASE WHEN o.public_id IS NOT NULL
            THEN jsonb_set(e.data, '{duplicate_of}', to_jsonb(o.public_id)) ELSE e.data END
FROM scale_events e
LEFT JOIN incidents o ON e.action = 'reject' AND e.data ? 'duplicate_of'
     AND o.id = e.incident_id - 1
ORDER BY e.at, e.incident_id
"""

WHISTLES_SQL = """
INSERT INTO whistles (id, incident_id, called_by, area_code, called_at, deadline_minutes,
                      deadline_at)
SELECT t.id, t.id, 'bench', t.street, t.t_wh, 60, t.t_wh + interval '60 minutes'
FROM scale_times t WHERE t.t_wh <= %(now)s
"""

# 1-3 summoned departments per whistle: 60 % report in on time, 25 % late, 15 % never.
CHECKINS_SQL = """
INSERT INTO whistle_checkins (whistle_id, department_code, checked_in_at, checked_in_by, late)
SELECT w.id, k.dept, x.at, CASE WHEN x.at IS NOT NULL THEN 'bench' END,
       CASE WHEN x.at IS NOT NULL THEN x.at > w.deadline_at END
FROM whistles w JOIN scale_times t ON t.id = w.incident_id
CROSS JOIN LATERAL (VALUES (1, 'SANITATION'), (2, 'CITYMGMT'), (3, 'GREENING')) k(n, dept)
-- a hash, not random(): the planner may inline a subquery's random() once per use
CROSS JOIN LATERAL (SELECT abs(hashint8(w.id * 7 + k.n)) %% 1000 / 1000.0 AS u) r
CROSS JOIN LATERAL (SELECT CASE
    WHEN r.u < 0.6 THEN w.called_at + r.u * interval '90 minutes'
    WHEN r.u < 0.85 THEN w.deadline_at + (r.u - 0.6) * interval '20 hours' END AS at) x
WHERE k.n <= 1 + floor(t.u5 * 3) AND (x.at IS NULL OR x.at <= %(now)s)
"""

# 报到 events, in the status the case had then (they do not change it).
CHECKIN_EVENTS_SQL = """
INSERT INTO scale_events (incident_id, at, action, from_status, to_status, dept, data)
SELECT w.incident_id, k.checked_in_at, 'check_in', s.to_status, s.to_status, k.department_code,
       jsonb_build_object('whistle_id', w.id, 'late', k.late)
FROM whistle_checkins k JOIN whistles w ON w.id = k.whistle_id
CROSS JOIN LATERAL (
    SELECT e.to_status FROM scale_events e WHERE e.incident_id = w.incident_id
      AND e.at <= k.checked_in_at ORDER BY e.at DESC LIMIT 1) s
WHERE k.checked_in_at IS NOT NULL
"""


def build_scale(
    conn: Connection[Any], incidents: int, now: dt.datetime, *, district: bool = True
) -> dict[str, float]:
    """`incidents` cases of the year before `now` (first the district when `district`)."""
    timings: dict[str, float] = {}
    if district:
        t0 = time.perf_counter()
        build_dataset(conn, buildings_per_grid=2, incidents=0)
        timings["district, 20,000 buildings"] = time.perf_counter() - t0
    x0, y0, x1, y1 = extent()
    box = {"x0": x0, "y0": y0, "w": x1 - x0, "h": y1 - y0}
    steps = [
        ("plan (random draws)", PLAN_SQL, {"n": incidents}),
        ("points", POINTS_SQL, {**box, "hotspots": HOTSPOTS}),
        ("duplicates moved next to their originals", DUPLICATES_SQL, {}),
        ("points → grids (gis.bulk_assign)", None, {}),
        ("event times", TIMES_SQL, {"limits": _limits()}),
        ("events", EVENTS_SQL, {}),
        ("", "CREATE INDEX ON scale_events (incident_id, at)", {}),
        ("incidents inserted", INCIDENTS_SQL, {}),
        ("whistles and check-ins", WHISTLES_SQL, {}),
        ("", CHECKINS_SQL, {}),
        ("", CHECKIN_EVENTS_SQL, {}),
        ("events inserted", EVENTS_INSERT_SQL, {}),
    ]
    with conn.transaction():
        row = conn.execute("SELECT coalesce(max(id), 0) FROM incidents").fetchone()
        base = int(row[0]) if row else 0
        conn.execute("SELECT setseed(%s)", (0.13 + (base % 1000) / 2000,))  # repeatable per batch
        label = ""
        for name, query, params in steps:
            label = name or label
            t0 = time.perf_counter()
            if query is None:
                conn.execute("CREATE INDEX ON scale_points USING gist (geom)")
                conn.execute("ANALYZE scale_points")
                assign_points_to_grids(conn, "scale_points")
            else:
                conn.execute(query, {"now": now, "base": base, **params})
            if query in (PLAN_SQL, POINTS_SQL):
                conn.execute("ANALYZE scale_plan" if query is PLAN_SQL else "ANALYZE scale_points")
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - t0
        conn.execute("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
        conn.execute("SELECT setval('whistles_id_seq', (SELECT max(id) FROM whistles))")
        conn.execute("DROP TABLE scale_plan, scale_points, scale_times, scale_events")
    t0 = time.perf_counter()
    for table in VACUUMED:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    timings["VACUUM ANALYZE"] = time.perf_counter() - t0
    return timings


def _limits() -> str:
    return json.dumps(LIMIT_S)


def mix_table(conn: Connection[Any]) -> list[tuple[str, int]]:
    """What was built, counted back from the stored rows (checks the proportions)."""
    queries = [
        ("incidents", "SELECT count(*) FROM incidents"),
        ("events", "SELECT count(*) FROM incident_events"),
        ("open (not closed or rejected)", "SELECT count(*) FROM incidents WHERE closed_at IS NULL"),
        ("rejected", "SELECT count(*) FROM incidents WHERE status = 'rejected'"),
        (
            "rejected as duplicates",
            "SELECT count(*) FROM incident_events WHERE action = 'reject' "
            "AND data ->> 'reason' = 'duplicate'",
        ),
        ("self-handled", "SELECT count(*) FROM incident_events WHERE action = 'self_handle'"),
        ("dispatches", "SELECT count(*) FROM incident_events WHERE action = 'dispatch'"),
        ("returns", "SELECT count(*) FROM incident_events WHERE action = 'return'"),
        ("escalations", "SELECT count(*) FROM incident_events WHERE action = 'escalate'"),
        ("extensions", "SELECT count(*) FROM incident_events WHERE action = 'approve_extension'"),
        ("suspensions", "SELECT count(*) FROM incident_events WHERE action = 'suspend'"),
        (
            "failed verifications (rework)",
            "SELECT count(*) FROM incident_events WHERE action = 'verify' "
            "AND data ->> 'passed' = 'false'",
        ),
        ("whistles", "SELECT count(*) FROM whistles"),
        (
            "check-ins on time / late / missing",
            "SELECT format('%s / %s / %s', count(*) FILTER (WHERE NOT late), "
            "count(*) FILTER (WHERE late), count(*) FILTER (WHERE late IS NULL)) "
            "FROM whistle_checkins",
        ),
    ]
    out = []
    for label, query in queries:
        row = conn.execute(query).fetchone()
        assert row is not None
        out.append((label, row[0]))
    return out
