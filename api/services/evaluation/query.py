"""The evaluation query (综合评价): every figure of docs/metrics.md from the event log, in SQL.

One statement turns the log into *facts* — one row per counted thing (a report, a dispatch, a
handling obligation, a closing obligation, a whistle summons…) with the department it is
attributed to — and aggregates them per group with GROUPING SETS, so the total row is computed
from the same facts (not summed from rows: a distinct count does not add up).

Only events before the end of observation `t_end` = min(to, now) are read, so the figures of a
past period never change when later events arrive. Each event is read once: one window pass
numbers it within its incident's log, and the episode, deadline and closing facts are hash joins
on those numbers, so the cost grows linearly with the events read (docs/performance.md, "A year
of a city"). The statement's text: `facts_sql`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import tuple_row

from api.db.at_once import Spare
from api.db.models_evaluation import CHECKINS, SETTLED
from api.services.evaluation.bucket_cache import read_state
from api.services.evaluation.facts_sql import FACTS_SQL
from api.services.evaluation.keeper import Keeper
from api.services.evaluation.live_sets import incident_key, live_incidents, live_of_group
from api.services.evaluation.rollup import (
    Grouping,
    area_level,
    overall,
    source,
)
from api.services.evaluation.rollup_read import TIMES_KEYS, rollup_rows, rollup_times
from api.services.evaluation.statement import evaluation_settings, log_path_config
from api.services.identity.visibility import AREA_COND

# Counted per distinct incident (an incident handled twice after rework is one handled case);
# dispatched and returned count events, since each dispatch is a new assignment to answer.
DISTINCT_COUNTS = ("reported", "registered", "handled", "closed", "rejected")
EVENT_COUNTS = ("dispatched", "returned")
FACT_COUNTS = (*SETTLED, "open", "overdue", *CHECKINS)


def _aggregates(handled: str) -> sql.Composable:
    """Counts per group: plain counts, hashable (no DISTINCT, no ordered-set aggregate)."""
    # an integer like the other counts (a sum of 1.0s per incident when counting incidents)
    parts: list[sql.Composable] = [sql.SQL(f"({handled})::bigint AS handled")]
    for name in DISTINCT_COUNTS + EVENT_COUNTS + FACT_COUNTS:
        if name == "handled":
            continue
        parts.append(
            sql.SQL("count(*) FILTER (WHERE f.m = {m}) AS {n}").format(
                m=sql.Literal(name), n=sql.Identifier(name)
            )
        )
    return sql.SQL(", ").join(parts)


@dataclass(frozen=True)
class Over:
    """What a statistics query counts over: the period [t_from, t_end), the grouping and the
    caller's scope (an area subtree or one department; None: no such limit)."""

    t_from: dt.datetime
    t_end: dt.datetime
    group_by: str
    level: str | None
    scope_area: str | None
    scope_department: str | None
    # the total row over the scope as well (the negative list reads the groups only: without it,
    # a month by grid at 1,000,000 cases takes ≈ 11 ms less — its p90 sorts every handling time)
    total: bool = True
    # the handling times as well (the negative list judges the sums and reads the times of the
    # groups it keeps only, `group_times`; the log's rows have them either way)
    times: bool = True


def stats_rows(
    conn: Connection[Any],
    over: Over,
    *,
    key: str | None = None,
    only_key: bool = False,
    live_ids: list[int] | None = None,
    spare: Spare | None = None,
) -> list[dict[str, Any]]:
    """Aggregated facts per group plus one total row (`total` true; none if `over.total` is
    false); raw counts and seconds.

    `live_ids`: the incidents whose T-dependent facts are read from their log, when the caller
    found them already (`live_of_ends`, for one group and several T); by default all incidents
    reported before T with an event at or after it. `spare`: `rollup_read.rollup_rows`'."""
    t_end, group_by, level = over.t_end, over.group_by, over.level
    scope_area, scope_department = over.scope_area, over.scope_department
    with conn.transaction(), evaluation_settings(conn):
        scope_level = area_level(conn, scope_area)
        read_from = source(group_by, level, scope_level, scope_department)
        if read_from != "log":
            # the incidents reported before T with events at or after it (none when T is now):
            # their facts at T come from their log
            if live_ids is None:
                live_ids = live_incidents(conn, t_end)
                if only_key and key is not None and live_ids:
                    live_ids = live_of_group(conn, live_ids, group_by, level, key)
            if scope_area is not None and live_ids:
                live_ids = in_area(conn, live_ids, scope_area)
            live = sql.SQL(FACTS_SQL).format(
                incident_scope=sql.SQL("i.id = ANY(%(live)s)"),
                facts_scope=sql.SQL("f.incident_id = ANY(%(live)s)"),
                ikey=incident_key(group_by, level),
            )
            log_path_config(conn, len(live_ids))
            return rollup_rows(
                conn,
                **asdict(over),
                scope_level=scope_level,
                key=key,
                only_key=only_key,
                live=(live, live_ids),
                from_facts=read_from == "facts",
                spare=spare,
            )
        return _log_rows(conn, over, key=key, only_key=only_key)


def group_times(
    conn: Connection[Any], over: Over, keys: list[str]
) -> dict[str | None, tuple[Any, Any, Any]]:
    """The handling times (count, mean and p90 seconds) `stats_rows(conn, over)` gives the
    groups `keys`, read for them alone; a group without any is absent."""
    if not keys:
        return {}
    with conn.transaction(), evaluation_settings(conn):
        scope_level = area_level(conn, over.scope_area)
        read_from = source(over.group_by, over.level, scope_level, over.scope_department)
        if read_from == "log":  # a grid's scope, a few hundred cases a year: its rows again
            wanted = set(keys)
            rows = _log_rows(conn, replace(over, total=False), key=None, only_key=False)
            return {
                r["key"]: tuple(r[k] for k in TIMES_KEYS)
                for r in rows
                if r["key"] in wanted and r["handling_n"] is not None
            }
        grouping = Grouping(
            over.group_by, over.level, over.scope_department, over.scope_area, scope_level
        )
        return rollup_times(
            conn, grouping, over.t_from, over.t_end, keys, from_facts=read_from == "facts"
        )


def in_area(conn: Connection[Any], ids: list[int], scope_area: str) -> list[int]:
    """Those of the incidents `ids` within an area scope (docs/metrics.md "Who sees what")."""
    query = sql.SQL(
        "SELECT coalesce(array_agg(i.id), '{{}}') AS ids FROM incidents i "
        "WHERE i.id = ANY(%(ids)s) AND {in_area}"
    ).format(in_area=sql.SQL(AREA_COND).format(a=sql.Identifier("i")))
    row = conn.execute(query, {"ids": ids, "vis_area": scope_area}).fetchone()
    return list(row["ids"]) if row else []


def _log_rows(
    conn: Connection[Any], over: Over, *, key: str | None, only_key: bool
) -> list[dict[str, Any]]:
    """The figures from the log of incidents with events at or after T, the stored facts of the
    others (when the rollups do not describe the period)."""
    group_by, level = over.group_by, over.level
    scope_area, scope_department = over.scope_area, over.scope_department
    incident_scope: sql.Composable = sql.SQL("true")
    params: dict[str, Any] = {"t_from": over.t_from, "t_end": over.t_end}
    if scope_area is not None:
        incident_scope = sql.SQL(AREA_COND).format(a=sql.Identifier("i"))
        params["vis_area"] = scope_area
    conds: list[sql.Composable] = [sql.SQL("true")]
    if scope_department is not None:
        conds.append(sql.SQL("f.dept = %(scope_dept)s"))
        params["scope_dept"] = scope_department
    k = sql.SQL("f.dept" if group_by == "department" else "f.ikey")
    if only_key:  # one group's figures (trend charts)
        conds.append(sql.SQL("{} IS NOT DISTINCT FROM %(key)s").format(k))
        params["key"] = key
    # one row per (incident, department) in `hd`: per department count rows; per incident key
    # (area, category) and in the total count incidents (v = 1 once per incident), unless the
    # caller sees one department only (then each incident has one row)
    handled = "count(*) FILTER (WHERE f.m = 'handled')"
    if scope_department is None:
        once = "sum(f.v) FILTER (WHERE f.m = 'handled')"
        handled = f"CASE WHEN GROUPING(f.dept) = 1 THEN {once} ELSE {handled} END"
        handled = handled if group_by == "department" else once
    query = sql.SQL(
        "WITH {facts}, main AS (SELECT {k} AS key, GROUPING({k}) = 1 AS total, {aggs} "
        "FROM facts f WHERE {conds} GROUP BY GROUPING SETS (({k}){overall})), "
        "times AS (SELECT {k} AS key, GROUPING({k}) = 1 AS total, count(*) AS handling_n, "
        "avg(f.v) AS handling_avg_s, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY f.v) AS handling_p90_s "
        "FROM timing f WHERE {conds} GROUP BY GROUPING SETS (({k}){overall})) "
        "SELECT m.*, t.handling_n, t.handling_avg_s, t.handling_p90_s FROM main m "
        # a hash join (codes are never empty): IS NOT DISTINCT FROM would compare every pair
        "LEFT JOIN times t ON t.total = m.total AND coalesce(t.key, '') = coalesce(m.key, '') "
        "ORDER BY m.total, m.key NULLS LAST"
    ).format(
        facts=sql.SQL(FACTS_SQL).format(
            incident_scope=incident_scope,
            facts_scope=sql.SQL("true"),
            ikey=incident_key(group_by, level),
        ),
        k=k,
        aggs=_aggregates(handled),
        conds=sql.SQL(" AND ").join(conds),
        overall=overall(over.total),
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
    SELECT code, name, level, 0 AS depth FROM areas WHERE valid_to IS NULL AND code = %(scope)s
    UNION ALL
    SELECT a.code, a.name, a.level, down.depth + 1
    FROM areas a JOIN down ON a.parent_code = down.code
    WHERE a.valid_to IS NULL AND down.depth < 12
)
SELECT DISTINCT code, name FROM down WHERE level = %(level)s ORDER BY code
"""


# The areas of a level and scope, by the State they were read at: a write to `areas` raises the
# generation (migration 0036's trigger), so a kept list is current while its State is. A month
# by grid: 17-18 ms of each read (10,000 rows named) -> a copy of the kept dict.
AREAS_KEPT: Keeper[dict[str, str]] = Keeper(len, 200_000, 64)


def areas_in_scope(conn: Connection[Any], level: str, scope_area: str | None) -> dict[str, str]:
    """Codes and names of current areas at `level` at or below the scope area (all when None),
    in code order: the rows of a table by area, and their names (`group_names`' for these).
    Kept in the process under the State (`AREAS_KEPT`); the caller's own copy."""
    state = read_state(conn)  # (before the areas: a write after it makes the key stale)
    key = (level, scope_area, state.current)
    kept = AREAS_KEPT.recall(key)
    if kept is None:
        with conn.cursor(row_factory=tuple_row) as cur:
            if scope_area is None:
                cur.execute(
                    "SELECT code, name FROM areas WHERE valid_to IS NULL AND level = %s "
                    "ORDER BY code",
                    (level,),
                )
            else:
                cur.execute(SCOPE_AREAS_SQL, {"scope": scope_area, "level": level})
            kept = dict(cur.fetchall())
        AREAS_KEPT.remember(key, kept)
    return dict(kept)
