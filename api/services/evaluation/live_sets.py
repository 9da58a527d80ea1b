"""The incidents live at a past T whose T-dependent facts a group's figures need (docs/metrics.md,
"Known limits"): the evaluation reads those facts from the log, for as few incidents as it can.

`incident_key` is the per-incident group key the evaluation query and these look-ups share.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.db.session import local_settings

AREA_LEVELS = ("district", "street", "community", "grid")


def incident_key(group_by: str, level: str | None) -> sql.Composable:
    """The per-incident group key (area or category) over `i` and `c`; NULL for departments."""
    if group_by == "area":
        assert level in AREA_LEVELS
        return sql.SQL("i.{}").format(sql.Identifier(f"{level}_code"))
    if group_by == "category":
        return sql.SQL("coalesce(c.parent_code, c.code)" if level == "major" else "i.category_code")
    return sql.SQL("NULL::text")


def live_incidents(conn: Connection[Any], t_end: dt.datetime) -> list[int]:
    """Incidents reported before T with an event at or after it (ix_eval_incidents_span): for
    these the stored facts, which know the later events, do not describe T."""
    row = conn.execute(
        "SELECT coalesce(array_agg(incident_id), '{}') AS ids FROM eval_incidents "
        "WHERE tstzrange(reported_at, last_at, '[]') @> %s::timestamptz AND reported_at < %s",
        (t_end, t_end),
    ).fetchone()
    return list(row["ids"]) if row else []


# department answers for an episode it leads or a case it leads at closing, and both leads are
# departments of dispatches (eval_episodes holds every dispatch of the log); an area or category
# is the incident's own (its stored facts carry it, migrations 0027/0028).
LIVE_OF_DEPARTMENT_SQL = """
SELECT coalesce(array_agg(DISTINCT incident_id), '{{}}') AS ids FROM eval_episodes
WHERE incident_id = ANY(%(live)s) AND lead = %(key)s
"""
LIVE_OF_GROUP_SQL = """
SELECT coalesce(array_agg(i.id), '{{}}') AS ids
FROM incidents i JOIN categories c ON c.code = i.category_code
WHERE i.id = ANY(%(live)s) AND {ikey} = %(key)s
"""


def live_of_group(
    conn: Connection[Any], live: list[int], group_by: str, level: str | None, key: str
) -> list[int]:
    """The live incidents that can have a T-dependent fact of group `key` (not None)."""
    query = sql.SQL(LIVE_OF_GROUP_SQL).format(ikey=incident_key(group_by, level))
    if group_by == "department":
        query = sql.SQL(LIVE_OF_DEPARTMENT_SQL).format()
    row = conn.execute(query, {"live": live, "key": key}).fetchone()
    return list(row["ids"]) if row else []


# The same for several T at once (a trend's bucket ends), in one statement: per T the incidents
# reported before it with an event at or after it, of one group. The incidents live at one of
# the ends at least are found once (ix_eval_incidents_span: their span meets the ends') and
# checked against the group once each (a department's: ix_eval_episodes_lead), then given the
# ends they are live at by their position among the sorted ends (width_bucket: the ends in
# (reported_at, last_at]) — not compared with every end (a department's 30 days by day at
# 1,000,000 cases: 31 × 9,900 comparisons, ≈ 50 ms, before; docs/performance.md).
LIVE_OF_ENDS_SQL = """
WITH live AS MATERIALIZED (
    SELECT f.incident_id, f.reported_at, f.last_at FROM eval_incidents f
    WHERE tstzrange(f.reported_at, f.last_at, '[]') && tstzrange(%(first)s, %(last)s, '[]')
      AND f.reported_at < %(last)s AND {of_group}
),
sorted AS (
    SELECT array_agg(t ORDER BY t) AS ends
    FROM (SELECT DISTINCT unnest(%(ends)s::timestamptz[]) t) d
),
-- live at T: its span [reported_at, last_at] holds T, and it was reported before T: the ends
-- after the reporting (their count up to it, width_bucket, + 1) up to the last event
at_end AS (
    SELECT s.ends[k] AS t_end, f.incident_id
    FROM live f CROSS JOIN sorted s
    CROSS JOIN generate_series(width_bucket(f.reported_at, s.ends) + 1,
                               width_bucket(f.last_at, s.ends)) k
)
SELECT t.t_end, coalesce(array_agg(f.incident_id) FILTER (WHERE f.incident_id IS NOT NULL),
                         '{{}}') AS ids
FROM unnest(%(ends)s::timestamptz[]) t(t_end)
LEFT JOIN at_end f ON f.t_end = t.t_end
GROUP BY t.t_end
"""
# The same, end by end: for each T the incidents live at it (ix_eval_incidents_span), checked
# against the group. Fewer checks when the ends are far apart (a year by month: 13 × 8,200
# instead of the year's 1,000,000), more when they are close (30 days by day).
LIVE_AT_EACH_END_SQL = """
SELECT t.t_end, coalesce(array_agg(f.incident_id) FILTER (WHERE f.incident_id IS NOT NULL),
                         '{{}}') AS ids
FROM unnest(%(ends)s::timestamptz[]) t(t_end)
LEFT JOIN LATERAL (
    SELECT f.incident_id FROM eval_incidents f
    WHERE tstzrange(f.reported_at, f.last_at, '[]') @> t.t_end AND f.reported_at < t.t_end
      AND {of_group}
) f ON true
GROUP BY t.t_end
"""
# The ends' mean spacing above which they are looked up one by one (measured at 1,000,000
# cases, docs/performance.md: 30 days by day one pass 100–330 ms against 400–510 end by end;
# 90 days by week and a year by month end by end 220–400 ms against 200–990 in one pass)
ONE_PASS_SPACING = dt.timedelta(days=2)
OF_DEPARTMENT = """EXISTS (SELECT 1 FROM eval_episodes e
                           WHERE e.incident_id = f.incident_id AND e.lead = %(key)s)"""
OF_GROUP = """EXISTS (SELECT 1 FROM incidents i JOIN categories c ON c.code = i.category_code
                      WHERE i.id = f.incident_id AND {ikey} = %(key)s)"""


def live_of_ends(
    conn: Connection[Any],
    ends: list[dt.datetime],
    group_by: str,
    level: str | None,
    key: str,
    *,
    one_pass: bool | None = None,
) -> dict[dt.datetime, list[int]]:
    """For each T of `ends`: the incidents live at T (`live_incidents`) that can have a
    T-dependent fact of group `key`, as `live_of_group` finds them; one statement for all:
    `one_pass` (LIVE_OF_ENDS_SQL) or end by end (LIVE_AT_EACH_END_SQL), by default as the
    ends' spacing says."""
    if not ends:
        return {}
    if one_pass is None:
        one_pass = max(ends) - min(ends) <= ONE_PASS_SPACING * len(ends)
    of_group: sql.Composable = sql.SQL(OF_GROUP).format(ikey=incident_key(group_by, level))
    if group_by == "department":
        of_group = sql.SQL(OF_DEPARTMENT)
    text = LIVE_OF_ENDS_SQL if one_pass else LIVE_AT_EACH_END_SQL
    query = sql.SQL(text).format(of_group=of_group)
    # its cost estimate passes the JIT threshold; compiling costs more than it saves
    with conn.transaction(), local_settings(conn, jit="off"):
        params = {"ends": ends, "first": min(ends), "last": max(ends), "key": key}
        rows = conn.execute(query, params).fetchall()
    return {r["t_end"]: list(r["ids"]) for r in rows}
