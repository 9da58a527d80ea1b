"""The evaluation from the rollups (migration 0027): whole months and days summed, edges exact.

`eval_roll_dept` (department × category × district/street) and `eval_roll_area` (per
area) hold, per local day and per month, the facts of docs/metrics.md that count at one instant
(a report, a dispatch, a settled deadline…), kept current by the trigger that keeps the facts.
A period [from, T) is read as its whole months and whole days from a rollup (a month more than
half in the period whole, less its other days: `spans`) plus the facts of its partial first and
last days from `eval_facts` (by time); what does not add up is read
exactly: 处置数 subtracts the handling reports whose previous one (the incident's, or its
department's) is in the period too, handling times come from `eval_times`, the open cases at T
from `eval_open`. The stored facts describe the log as it is now, so this path serves a period
only when no incident has an event at or after T (the usual "up to now"); otherwise
`api.services.evaluation.query` reads the log of the incidents touched since (docs/performance.md).
A grouping or scope no rollup holds (a department's figures by community or grid, a community's
by department or category) reads the rolled facts of the whole period from `eval_facts` instead
of a rollup, through an index of their own (migration 0034); everything else is the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection, sql

from api.db.models_evaluation import AREA_KEYS, ROLLED, ROLLUPS, SETTLED, off_hierarchy
from api.services.evaluation.rollup_sql import (
    CHANGES_SQL,
    COMMUNITIES_SQL,
    CORRECTION_LOG_SQL,
    CORRECTION_PAIRS,
    CORRECTION_SQL,
    FACTS_SQL,
    OFF_HIERARCHY_SQL,
    OPEN_SQL,
    REPEATS_SQL,
    ROLLUP_SQL,
)

# The day and month buckets of the rollups are local days of this zone (migration 0027).
BUCKET_TZ = ZoneInfo("Asia/Shanghai")
EXTRA = ("repeat_inc", "repeat_dept", "open", "overdue")
# The facts that depend on T, not only on the events before it: the deadline in force and the
# department answering for a case can change later (an extension, a return), and a case open at
# T may be closed since. For incidents with events at or after T these come from their log:
# the settled obligations (handle_due … reworked).
T_DEPENDENT = SETTLED

# The groupings whose handling times an index holds in (group, seconds) order (migration 0029)
TIMES_ORDERED = (("department", None), ("category", "category"), ("area", "grid"))
# A period from which the grids' times are read in that order rather than sorted
TIMES_LONG = dt.timedelta(days=62)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), BUCKET_TZ)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _mostly(first: dt.date, last: dt.date, *, now: bool = False) -> bool:
    """Whether the days [first, last) of one month are more than half of it: then the month's
    row minus its other days is fewer rows than the days themselves (docs/performance.md).
    `now`: `last` is the day after T's, and T is after every event: the month's days after
    `last` hold only the deadlines still to come, and do not count (the current month read
    whole: a month by grid at 1,000,000 cases reads 7,600 rows instead of 6 days' 20,500)."""
    days = ((last if now else _next_month(first)) - first.replace(day=1)).days
    return 2 * (last - first).days > days


def spans(
    t_from: dt.datetime, t_end: dt.datetime, *, last_day_whole: bool = False
) -> dict[str, Any]:
    """[t_from, t_end) as whole months [m0, m1), whole days [d0, m0) and [m1, d1), and the
    partial days [t_from, e0) and [e1, t_end) (local days of BUCKET_TZ).

    A month more than half of which is in [d0, d1) is read whole and its other days taken away:
    m0 <= d0 or d1 <= m1 then, and the days [m0, d0) and [d1, m1) count negatively
    (ROLLUP_SQL). The sums are the same (a month's row is the sum of its days' rows): 30 days
    read as one month, less 5 days, and 5 days are 2-3 times fewer rows than 30 days.

    `last_day_whole` (T is after every event, so the facts after it are the few deadlines still
    to come): the day T falls in is read whole and its facts at or after T, [t_end, e2), taken
    away; e1 = t_end then. Otherwise e2 = t_end (none taken away)."""
    start = t_from.astimezone(BUCKET_TZ)
    d0 = start.date() + dt.timedelta(days=0 if start == _midnight(start.date()) else 1)
    end = t_end.astimezone(BUCKET_TZ)
    d1 = end.date()
    whole = last_day_whole and end != _midnight(d1)
    if whole:
        d1 += dt.timedelta(days=1)
    if d0 >= d1:  # no whole day: all of it read exactly
        return {"m0": d0, "m1": d0, "d0": d0, "d1": d0, "e0": t_end, "e1": t_end, "e2": t_end}
    m0 = d0 if d0.day == 1 else _next_month(d0)
    m1 = d1.replace(day=1)
    if m0 > m1:  # within one month, not whole
        m0 = m1 = d1
        if _mostly(d0, d1, now=last_day_whole):
            m0, m1 = d0.replace(day=1), _next_month(d0)
    else:
        if m0 > d0 and _mostly(d0, m0):
            m0 = d0.replace(day=1)
        if d1 > m1 and _mostly(m1, d1, now=last_day_whole):
            m1 = _next_month(m1)
    e1, e2 = (t_end, _midnight(d1)) if whole else (_midnight(d1), t_end)
    return {"m0": m0, "m1": m1, "d0": d0, "d1": d1, "e0": _midnight(d0), "e1": e1, "e2": e2}


def _rollup(group_by: str, scope_department: str | None) -> str:
    """The rollup a grouping reads: by area, the areas' own unless one department's figures."""
    return "eval_roll_area" if group_by == "area" and scope_department is None else "eval_roll_dept"


def _key(
    group_by: str, level: str | None, scope_department: str | None
) -> tuple[str, sql.Composable, sql.Composable]:
    """The rollup to read, the group key over `x` and the join it needs."""
    none = sql.SQL("")
    if group_by == "department":
        return "eval_roll_dept", sql.SQL("x.dept"), none
    if group_by == "area":
        assert level is not None
        rollup = _rollup(group_by, scope_department)
        return rollup, sql.SQL("x.{}").format(sql.Identifier(level)), none
    if level == "major":
        join = sql.SQL("JOIN categories c ON c.code = x.category")
        return "eval_roll_dept", sql.SQL("coalesce(c.parent_code, c.code)"), join
    return "eval_roll_dept", sql.SQL("x.category"), none


def area_level(conn: Connection[Any], code: str | None) -> str | None:
    """The level of a scope area (None: no scope; "" an unknown code, which no rollup holds)."""
    if code is None:
        return None
    row = conn.execute(
        "SELECT level FROM areas WHERE code = %s ORDER BY valid_to IS NULL DESC LIMIT 1", (code,)
    ).fetchone()
    return row["level"] if row else ""


def usable(
    group_by: str, level: str | None, scope_level: str | None, scope_department: str | None
) -> bool:
    """Whether a rollup holds the grouping and the scope: the area level grouped by and the
    scope area's level (`area_level`) are among its columns. A department's figures by
    community or grid, and its figures within a community or grid, are not in one."""
    columns = ROLLUPS[_rollup(group_by, scope_department)]
    return (group_by != "area" or level in columns) and (
        scope_level is None or scope_level in columns
    )


def source(
    group_by: str, level: str | None, scope_level: str | None, scope_department: str | None
) -> str:
    """Where `stats_query.stats_rows` reads the figures: "rollup" (`usable`); "facts", the rolled
    facts of the whole period from ix_eval_facts_community_dept, for a department's figures
    (within a community or above) and a community's; "log" otherwise — a grid's department or
    category figures (a few hundred cases a year), an unknown scope area."""
    if usable(group_by, level, scope_level, scope_department):
        return "rollup"
    # the grouping and the scope are columns of eval_facts, and the index finds the scope's facts
    areas = (None, *AREA_KEYS[:-1])
    if (group_by != "area" or level in AREA_KEYS) and scope_level in areas:
        if scope_department is not None or scope_level == "community":
            return "facts"
    return "log"


def fact_communities(conn: Connection[Any]) -> list[str]:
    """The communities the facts lie in (COMMUNITIES_SQL)."""
    row = conn.execute(COMMUNITIES_SQL).fetchone()
    return list(row["codes"]) if row else []


def _rolled_facts() -> sql.Composable:
    """A fact row of `eval_facts` as the rollups' columns: 1 in its own, 0 elsewhere."""
    return sql.SQL(", ").join(sql.SQL("(x.m = {})::int").format(sql.Literal(n)) for n in ROLLED)


def _wide(values: dict[str, str]) -> sql.Composable:
    """The columns of a source row, in order: `values` where given, else 0."""
    return sql.SQL(", ").join(sql.SQL(values.get(n, "0")) for n in (*ROLLED, *EXTRA))


def correction(
    key: sql.Composable,
    join: sql.Composable,
    cond: sql.Composable,
    *,
    pairs: bool = False,
) -> sql.Composable:
    """The sources taking away the stored T-dependent facts of the incidents with events at or
    after T: the open cases' of all, the others of those read from their log (`inc.live`; of
    the others `correction_log` takes them away from their stored rows); `correction_log` adds
    their facts as of T. With `pairs`, of a trend's (incident, bucket) pairs, the bucket first
    (`buckets.trend_rows`, which reads the period's bounds from `bk`)."""
    stored = {n: f"-(x.m = '{n}')::int" for n in T_DEPENDENT}
    stored_open = {"open": "-1", "overdue": "-coalesce(x.due < %(t_end)s, false)::int"}
    return sql.SQL(CORRECTION_SQL).format(
        bucket=sql.SQL("bk.b, " if pairs else ""),
        pairs=sql.SQL(CORRECTION_PAIRS if pairs else ""),
        stored_facts=_wide(stored),
        stored_open=_wide(stored_open),
        key=key,
        join=join,
        conds=cond,
    )


def correction_log(
    group_by: str, fcond: sql.Composable, bucket: sql.Composable | None = None
) -> sql.Composable:
    """The source adding the T-dependent facts of those incidents as of T (`facts`), and taking
    away the stored ones of those read from their stored facts (`gone`); with `bucket`, that
    expression first (`trend_rows`)."""
    fkey = "f.dept" if group_by == "department" else "f.ikey"
    log = {n: f"(f.m = '{n}')::int" for n in (*T_DEPENDENT, "open", "overdue")}
    gone = {n: f"-(f.m = '{n}')::int" for n in T_DEPENDENT}
    return sql.SQL(CORRECTION_LOG_SQL).format(
        bucket=sql.SQL("") if bucket is None else sql.SQL("{}, ").format(bucket),
        fkey=sql.SQL(fkey),
        log_facts=_wide(log),
        gone_facts=_wide(gone),
        fconds=fcond,
    )


def overall(total: bool) -> sql.Composable:
    """The grouping set of the total row after a query's groups (`GROUPING SETS ((key){})`),
    or none: `Over.total`."""
    return sql.SQL(", ()" if total else "")


def times_grouping(
    group_by: str, level: str | None, k: sql.Composable, span: dt.timedelta
) -> sql.Composable:
    """How `times` groups the handling times (QUERY_SQL), measured at 1,000,000 cases:
    - by the group alone where an index holds them in (group, seconds) order (TIMES_ORDERED):
      the planner reads a long period in that order, without sorting, and each group's p90
      finds its input sorted (a year by department 640 → 100 ms, by grid 580 → 110 ms);
    - except the grids' times of a short period (≤ TIMES_LONG), and the groups no index
      holds: sorted, by the key's hash first — grid codes share their first digits, which
      makes comparing them slow (a month by grid 64 → 50 ms)."""
    if (group_by, level) in TIMES_ORDERED and (group_by != "area" or span > TIMES_LONG):
        return k
    return sql.SQL("hashtext({0}), {0}").format(k)


def times_key_cond(k: sql.Composable, key: str | None) -> sql.Composable:
    """One group's handling times: an equality an index on (group, at) can serve (a trend
    bucket reads a month of one group, not the month of every group)."""
    if key is None:
        return sql.SQL("{} IS NULL").format(k)
    return sql.SQL("{} = %(key)s").format(k)


@dataclass
class Sources:
    """What `rollup_read.rollup_rows` and `trend_rows` read: the rows to sum (`sources`,
    columns `key`, ROLLED, EXTRA), the group key over `x` and its join, the conditions on the
    facts' tables (`cond`) and on the log's facts (`fcond`), and the statement's parameters."""

    sources: sql.Composable
    key: sql.Composable
    join: sql.Composable
    cond: sql.Composable
    fcond: sql.Composable
    params: dict[str, Any]


@dataclass(frozen=True)
class Grouping:
    """The rows a rollup read makes and the scope it counts within (`area_level` of the scope
    area: `scope_level`)."""

    group_by: str
    level: str | None
    scope_department: str | None
    scope_area: str | None
    scope_level: str | None


def period_sources(
    conn: Connection[Any],
    g: Grouping,
    t_from: dt.datetime,
    t_end: dt.datetime,
    *,
    from_facts: bool,
    last_day_whole: bool,
    repeat_from: dt.datetime | None = None,
    open_cases: bool = True,
) -> Sources:
    """The sources of one period from the rollups, or with `from_facts` from the rolled facts of
    the whole period, before any correction for incidents with events at or after T.

    For the parts of a period `sums_kept` reads apart: `repeat_from`, the whole period's start
    (a handling is a repeat when the one before it is in the whole period, not in the part);
    without `open_cases`, the cases open at T are not read (a settled part has none)."""
    group_by, level, scope_department = g.group_by, g.level, g.scope_department
    scope_area, scope_level = g.scope_area, g.scope_level
    rollup, k, join = _key(group_by, level, scope_department)
    params: dict[str, Any] = {
        "t_from": t_from,
        "t_end": t_end,
        "rolled": list(ROLLED),
        "t_dependent": [*T_DEPENDENT, "open", "overdue"],
        **spans(t_from, t_end, last_day_whole=last_day_whole),
    }
    if from_facts:  # the cases found by their responsible area: the whole period
        params["e0"], params["e1"], params["e2"] = t_from, t_end, t_end
    cond: sql.Composable = sql.SQL("true")
    fcond: sql.Composable = sql.SQL("true")
    if scope_department is not None:
        cond, fcond = sql.SQL("x.dept = %(scope_dept)s"), sql.SQL("f.dept = %(scope_dept)s")
        params["scope_dept"] = scope_department
    # rows of a rollup (rconds), of the facts' tables (conds), of the extra facts (dconds)
    rcond, dcond = cond, cond
    off: sql.Composable = sql.SQL("")
    if scope_area is not None:
        assert scope_level is not None
        params["scope_area"] = scope_area
        lies_in = sql.SQL("x.{} = %(scope_area)s").format(sql.Identifier(scope_level))
        off_cond = sql.SQL(off_hierarchy("x"))
        rcond = sql.SQL("{} AND {}").format(cond, lies_in)
        cond = sql.SQL("{} AND ({} OR (x.responsible = %(scope_area)s AND {}))").format(
            cond, lies_in, off_cond
        )
        off = sql.SQL(OFF_HIERARCHY_SQL).format(
            key=k,
            rolled_facts=_rolled_facts(),
            join=join,
            off=off_cond,
            dconds=dcond,
        )
    parts = {
        "key": k,
        "rolled": sql.SQL(", ").join(
            sql.SQL("x.{0} AS {0}").format(sql.Identifier(n)) for n in ROLLED
        ),
        "rolled_negated": sql.SQL(", ").join(
            sql.SQL("-x.{}").format(sql.Identifier(n)) for n in ROLLED
        ),
        "rolled_facts": _rolled_facts(),
        "rolled_facts_negated": sql.SQL(", ").join(
            sql.SQL("-(x.m = {})::int").format(sql.Literal(n)) for n in ROLLED
        ),
        "rolled_counts": sql.SQL(", ").join(
            sql.SQL("(f.m = {0})::int * f.n AS {1}").format(sql.Literal(n), sql.Identifier(n))
            for n in ROLLED
        ),
        "zeros": sql.SQL(", ").join(sql.SQL("0") for _ in ROLLED),
        "rollup": sql.Identifier(rollup),
        "join": join,
        "conds": cond,
        "rconds": rcond,
        "off_hierarchy": off,
    }
    if not from_facts:
        rolled: sql.Composable = sql.SQL(ROLLUP_SQL).format(**parts)
    else:
        # a community's facts are one range of the index; others' are found community by
        # community, and those of no community apart
        reach = ["true"]
        if scope_level != "community":
            params["communities"] = fact_communities(conn)
            reach = ["x.community = ANY(%(communities)s)", "x.community IS NULL"]
        rolled = sql.SQL("{}{}").format(
            sql.SQL("UNION ALL").join(
                sql.SQL(FACTS_SQL).format(reach=sql.SQL(r), **parts) for r in reach
            ),
            off,
        )
    if repeat_from is not None:
        params["repeat_from"] = repeat_from
    repeats = sql.SQL(REPEATS_SQL).format(
        repeat_from=sql.SQL("%(repeat_from)s" if repeat_from is not None else "%(t_from)s"),
        **parts,
    )
    open_now = sql.SQL(OPEN_SQL if open_cases else "").format(**parts)
    others = sql.SQL("{}{}").format(repeats, open_now)
    sources = sql.SQL("{}{}").format(rolled, others)
    return Sources(sources, k, join, cond, fcond, params)


def changes_since(src: Sources, snapshot: str) -> Sources:
    """`src` (of a settled part, `period_sources`) as the changes to its facts that `snapshot`
    (pg_current_snapshot()'s text) did not see: CHANGES_SQL, the rolled facts and repeats
    counted with their sign."""
    logged = sql.SQL(", ").join(
        sql.SQL("(x.m = {})::int * x.s AS {}").format(sql.Literal(n), sql.Identifier(n))
        for n in ROLLED
    )
    sources = sql.SQL(CHANGES_SQL).format(key=src.key, join=src.join, conds=src.cond, logged=logged)
    xmin = int(snapshot.split(":", 1)[0])
    params = {**src.params, "snapshot": snapshot, "snapshot_xmin": xmin}
    return replace(src, sources=sources, params=params)


def repeat_columns(group_by: str, scope_department: str | None) -> tuple[str, str]:
    """The repeat column 处置数 subtracts for a group's rows and for the total: it counts
    incidents (per department: incident and department) handled in the period."""
    rows_repeat = "repeat_dept" if group_by == "department" or scope_department else "repeat_inc"
    total_repeat = "repeat_dept" if scope_department else "repeat_inc"
    return rows_repeat, total_repeat


def sum_columns() -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("sum({0})::bigint AS {0}").format(sql.Identifier(n))
        for n in (*SUMMED, "open", "overdue")
    )


def nonzero_cond(alias: str) -> sql.Composable:
    """A main row worth showing: something counted (times alone are not shown)."""
    return sql.SQL(" OR ").join(
        sql.SQL("{}.{} <> 0").format(sql.Identifier(alias), sql.Identifier(n))
        for n in (*SUMMED, "open", "handled")
    )


# The sums of the sources, per group; 处置数 (handled) is computed from `handles`
SUMMED = tuple(n for n in ROLLED if n != "handles")
