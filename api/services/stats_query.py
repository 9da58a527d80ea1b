"""The evaluation query (综合评价): every figure of docs/metrics.md from the event log, in SQL.

One statement turns the log into *facts* — one row per counted thing (a report, a dispatch, a
handling obligation, a closing obligation, a whistle summons…) with the department it is
attributed to — and aggregates them per group with GROUPING SETS, so the total row is computed
from the same facts (not summed from rows: a distinct count does not add up).

Only events before the end of observation `t_end` = min(to, now) are read, so the figures of a
past period never change when later events arrive. Each event is read once: one window pass
numbers it within its incident's log, and the episode, deadline and closing facts are hash joins
on those numbers, so the cost grows linearly with the events read (docs/performance.md, "A year
of a city").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.services.visibility import AREA_COND

AREA_LEVELS = ("district", "street", "community", "grid")

# Counted per distinct incident (an incident handled twice after rework is one handled case);
# dispatched and returned count events, since each dispatch is a new assignment to answer.
DISTINCT_COUNTS = ("reported", "registered", "handled", "closed", "rejected")
EVENT_COUNTS = ("dispatched", "returned")
FACT_COUNTS = (
    "handle_due",
    "handle_on_time",
    "close_due",
    "close_done",
    "close_on_time",
    "reworked",
    "open",
    "overdue",
    "checkin_due",
    "checkin_on_time",
)

FACTS_SQL = """
inc AS MATERIALIZED (
    -- Incidents that can have a fact in the period: reported before its end and not finished
    -- (closed or rejected) before it began.
    SELECT i.id FROM incidents i
    WHERE i.reported_at < %(t_end)s AND (i.closed_at IS NULL OR i.closed_at >= %(t_from)s)
      AND {incident_scope}
),
-- Each event read once, in one window pass over each incident's log in id order, with its place
-- in that log: mk = deadline marks so far (the deadline in force after it is the mk-th mark's),
-- ep = episode bounds so far (its dispatch episode), hn = handling reports so far. Every later
-- step joins on these numbers (hash joins, linear) instead of searching the log again.
ev AS MATERIALIZED (
    SELECT x.*,
           count(*) FILTER (WHERE x.is_mark) OVER w AS mk,
           count(*) FILTER (WHERE x.is_bound) OVER w AS ep,
           count(*) FILTER (WHERE x.action = 'handle') OVER w AS hn
    FROM (
        SELECT e.id, e.incident_id, e.at, e.action, e.department_code AS dept,
               -- the due_at a mark leaves behind (NULL = none / paused)
               CASE WHEN e.action IN ('dispatch', 'approve_extension', 'reopen')
                    THEN (e.data ->> 'due_at')::timestamptz END AS due,
               e.action IN ('dispatch', 'approve_extension', 'reopen', 'suspend', 'return',
                            'self_handle') AS is_mark,
               e.action IN ('dispatch', 'return', 'self_handle') AS is_bound,
               CASE WHEN e.action = 'verify' THEN e.data ->> 'passed' = 'true' END AS passed
        FROM incident_events e JOIN inc ON inc.id = e.incident_id
        WHERE e.at < %(t_end)s
    ) x
    WINDOW w AS (PARTITION BY x.incident_id ORDER BY x.id ROWS UNBOUNDED PRECEDING)
),
marks AS MATERIALIZED (SELECT incident_id, mk, due FROM ev WHERE is_mark),
-- A dispatch episode lasts until the next dispatch, return or self-handling (the next bound).
bounds AS MATERIALIZED (
    SELECT incident_id, ep, at, action, dept, mk, hn FROM ev WHERE is_bound
),
life AS MATERIALIZED (
    -- per incident: marks and bounds before T, the first passed verification (C) and where it
    -- falls in the log, the rejection and the failed verifications
    SELECT inc.id, coalesce(a.mk, 0) AS mk, coalesce(a.ep, 0) AS ep, a.closed_at, a.closed_mk,
           a.closed_ep, a.rejected_at, coalesce(a.reworks, 0) AS reworks
    FROM inc LEFT JOIN (
        SELECT incident_id, max(mk) AS mk, max(ep) AS ep,
               min(at) FILTER (WHERE passed) AS closed_at,
               min(mk) FILTER (WHERE passed) AS closed_mk,
               min(ep) FILTER (WHERE passed) AS closed_ep,
               min(at) FILTER (WHERE action = 'reject') AS rejected_at,
               count(*) FILTER (WHERE NOT passed) AS reworks
        FROM ev GROUP BY incident_id
    ) a ON a.incident_id = inc.id
),
ep AS (
    SELECT e.*, CASE
        WHEN e.due IS NULL THEN NULL
        WHEN e.handled_at IS NOT NULL AND e.handled_at <= e.due THEN e.handled_at
        WHEN e.due < %(t_end)s AND (e.end_at IS NULL OR e.end_at > e.due) THEN e.due
    END AS settled_at
    FROM (
        SELECT b.incident_id, b.dept, b.at AS dispatched_at, nb.at AS end_at,
               h.at AS handled_at, m.due
        FROM bounds b
        -- the department's first handling report in the episode
        LEFT JOIN ev h ON h.incident_id = b.incident_id AND h.action = 'handle'
             AND h.hn = b.hn + 1 AND h.ep = b.ep
        LEFT JOIN bounds nb ON nb.incident_id = b.incident_id AND nb.ep = b.ep + 1
        JOIN life l ON l.id = b.incident_id
        -- the deadline in force when it was handled (or at the episode's end, or at T)
        LEFT JOIN marks m ON m.incident_id = b.incident_id
             AND m.mk = coalesce(h.mk, nb.mk - 1, l.mk)
        WHERE b.action = 'dispatch'
    ) e
),
st AS (
    SELECT l.*, m.due, CASE WHEN b.action = 'dispatch' THEN b.dept END AS dept, CASE
        WHEN l.closed_at IS NOT NULL AND (m.due IS NULL OR l.closed_at <= m.due) THEN l.closed_at
        WHEN l.rejected_at IS NULL AND m.due < %(t_end)s THEN m.due
    END AS settled_at
    FROM life l
    -- the deadline in force when it closed (or at the end of observation)
    LEFT JOIN marks m ON m.incident_id = l.id AND m.mk = coalesce(l.closed_mk, l.mk)
    -- the lead of the last dispatch, unless returned or self-handled since
    LEFT JOIN bounds b ON b.incident_id = l.id AND b.ep = coalesce(l.closed_ep, l.ep)
),
wh AS (
    SELECT w.incident_id, k.department_code AS dept,
           k.checked_in_at IS NOT NULL AND k.checked_in_at <= w.deadline_at AS on_time
    FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id
    JOIN incidents i ON i.id = w.incident_id
    WHERE least(k.checked_in_at, w.deadline_at) >= %(t_from)s
      AND least(k.checked_in_at, w.deadline_at) < %(t_end)s
      AND {incident_scope}
),
facts AS (
    SELECT incident_id, dept, CASE action
            WHEN 'report' THEN 'reported' WHEN 'register' THEN 'registered'
            WHEN 'dispatch' THEN 'dispatched' WHEN 'return' THEN 'returned'
            WHEN 'reject' THEN 'rejected' WHEN 'verify' THEN 'closed' ELSE 'handled'
        END AS m, NULL::float8 AS v
    FROM ev
    WHERE at >= %(t_from)s AND (action IN (
            'report', 'register', 'dispatch', 'return', 'reject', 'handle', 'self_handle')
        OR passed)
    UNION ALL
    SELECT incident_id, dept, 'handle_due', NULL FROM ep WHERE settled_at >= %(t_from)s
    UNION ALL
    SELECT incident_id, dept, 'handle_on_time', NULL FROM ep
    WHERE settled_at >= %(t_from)s AND settled_at = handled_at
    UNION ALL
    SELECT incident_id, dept, 'handling_s', extract(epoch FROM handled_at - dispatched_at)
    FROM ep WHERE handled_at >= %(t_from)s
    UNION ALL
    SELECT id, dept, 'close_due', NULL FROM st WHERE settled_at >= %(t_from)s
    UNION ALL
    SELECT id, dept, 'close_done', NULL FROM st
    WHERE settled_at >= %(t_from)s AND closed_at IS NOT NULL
    UNION ALL
    SELECT id, dept, 'close_on_time', NULL FROM st
    WHERE settled_at >= %(t_from)s AND settled_at = closed_at
    UNION ALL
    SELECT id, dept, 'reworked', NULL FROM st WHERE settled_at >= %(t_from)s AND reworks > 0
    UNION ALL
    SELECT id, dept, 'open', NULL FROM st WHERE closed_at IS NULL AND rejected_at IS NULL
    UNION ALL
    SELECT id, dept, 'overdue', NULL FROM st
    WHERE closed_at IS NULL AND rejected_at IS NULL AND due < %(t_end)s
    UNION ALL
    SELECT incident_id, dept, 'checkin_due', NULL FROM wh
    UNION ALL
    SELECT incident_id, dept, 'checkin_on_time', NULL FROM wh WHERE on_time
)
"""


def _aggregates() -> sql.Composable:
    parts: list[sql.Composable] = []
    for name in DISTINCT_COUNTS:
        parts.append(
            sql.SQL("count(DISTINCT f.incident_id) FILTER (WHERE f.m = {m}) AS {n}").format(
                m=sql.Literal(name), n=sql.Identifier(name)
            )
        )
    for name in EVENT_COUNTS + FACT_COUNTS:
        parts.append(
            sql.SQL("count(*) FILTER (WHERE f.m = {m}) AS {n}").format(
                m=sql.Literal(name), n=sql.Identifier(name)
            )
        )
    parts.append(
        sql.SQL(
            "count(*) FILTER (WHERE f.m = 'handling_s') AS handling_n, "
            "avg(f.v) FILTER (WHERE f.m = 'handling_s') AS handling_avg_s, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY f.v) "
            "FILTER (WHERE f.m = 'handling_s') AS handling_p90_s"
        )
    )
    return sql.SQL(", ").join(parts)


def group_key(group_by: str, level: str | None) -> sql.Composable:
    """The SQL expression a fact is grouped by (identifiers from fixed lists only)."""
    if group_by == "department":
        return sql.SQL("f.dept")
    if group_by == "area":
        assert level in AREA_LEVELS
        return sql.SQL("i.{}").format(sql.Identifier(f"{level}_code"))
    if level == "major":
        return sql.SQL("coalesce(c.parent_code, c.code)")
    return sql.SQL("i.category_code")


def stats_rows(
    conn: Connection[Any],
    *,
    t_from: dt.datetime,
    t_end: dt.datetime,
    group_by: str,
    level: str | None,
    scope_area: str | None,
    scope_department: str | None,
    key: str | None = None,
    only_key: bool = False,
) -> list[dict[str, Any]]:
    """Aggregated facts per group plus one total row (`total` true); raw counts and seconds."""
    incident_scope: sql.Composable = sql.SQL("true")
    params: dict[str, Any] = {"t_from": t_from, "t_end": t_end}
    if scope_area is not None:
        incident_scope = sql.SQL(AREA_COND).format(a=sql.Identifier("i"))
        params["vis_area"] = scope_area
    conds: list[sql.Composable] = [sql.SQL("true")]
    if scope_department is not None:
        conds.append(sql.SQL("f.dept = %(scope_dept)s"))
        params["scope_dept"] = scope_department
    k = group_key(group_by, level)
    if only_key:  # one group's figures (trend charts)
        conds.append(sql.SQL("{} IS NOT DISTINCT FROM %(key)s").format(k))
        params["key"] = key
    query = sql.SQL(
        "WITH {facts} SELECT {k} AS key, GROUPING({k}) = 1 AS total, {aggs} "
        "FROM facts f JOIN incidents i ON i.id = f.incident_id "
        "JOIN categories c ON c.code = i.category_code "
        "WHERE {conds} GROUP BY GROUPING SETS (({k}), ()) ORDER BY total, key NULLS LAST"
    ).format(
        facts=sql.SQL(FACTS_SQL).format(incident_scope=incident_scope),
        k=k,
        aggs=_aggregates(),
        conds=sql.SQL(" AND ").join(conds),
    )
    return [dict(r) for r in conn.execute(query, params).fetchall()]


def group_names(conn: Connection[Any], group_by: str, codes: list[str]) -> dict[str, str]:
    """Display names of the groups' codes (current areas, departments, categories)."""
    table = {
        "department": "SELECT code, name FROM departments WHERE code = ANY(%s)",
        "area": "SELECT code, name FROM areas WHERE code = ANY(%s) AND valid_to IS NULL",
        "category": "SELECT code, name FROM categories WHERE code = ANY(%s)",
    }[group_by]
    return {r["code"]: r["name"] for r in conn.execute(table, (codes,)).fetchall()}


# Current areas of one level at or below a scope area, for rows with nothing to count.
SCOPE_AREAS_SQL = """
WITH RECURSIVE down AS (
    SELECT code, level, 0 AS depth FROM areas WHERE valid_to IS NULL AND code = %(scope)s
    UNION ALL
    SELECT a.code, a.level, down.depth + 1 FROM areas a JOIN down ON a.parent_code = down.code
    WHERE a.valid_to IS NULL AND down.depth < 12
)
SELECT DISTINCT code FROM down WHERE level = %(level)s ORDER BY code
"""


def areas_in_scope(conn: Connection[Any], level: str, scope_area: str | None) -> list[str]:
    """Codes of current areas at `level` at or below the scope area (all when None)."""
    if scope_area is None:
        rows = conn.execute(
            "SELECT code FROM areas WHERE valid_to IS NULL AND level = %s ORDER BY code", (level,)
        ).fetchall()
    else:
        rows = conn.execute(SCOPE_AREAS_SQL, {"scope": scope_area, "level": level}).fetchall()
    return [r["code"] for r in rows]
