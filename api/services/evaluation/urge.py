"""督办 in the evaluation: urges, cases urged, and cases urged before closing (docs/metrics.md).

Kept apart from `stats_query` (its facts CTE is being reworked for scale): this reads only the
urge events of the period (partial index ix_incident_events_urge_at) and the incidents closed
in it (ix_incidents_closed_at), and adds its counts to the raw rows `stats_rows` returns.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from api.services.evaluation.query import Over
from api.services.evaluation.rollup import overall
from api.services.identity.visibility import AREA_COND

URGE_COUNTS = ("urges", "urged", "closed_urged")

# The urge facts of [t_from, t_end) with their times (`at`), and their counts per group.
URGE_FACTS = """
    SELECT e.incident_id, e.department_code AS dept, 'urge' AS m, e.at
    FROM incident_events e
    WHERE e.action = 'urge' AND e.at >= %(t_from)s AND e.at < %(t_end)s
    UNION ALL
    -- Urging is possible only while a department holds the case, so a closed case with
    -- urge_count > 0 was urged before it was closed.
    SELECT i.id, i.department_code, 'closed_urged', i.closed_at
    FROM incidents i
    WHERE i.closed_at >= %(t_from)s AND i.closed_at < %(t_end)s
      AND i.status = 'closed' AND i.urge_count > 0"""
URGE_AGGREGATES = """count(*) FILTER (WHERE f.m = 'urge') AS urges,
       count(DISTINCT f.incident_id) FILTER (WHERE f.m = 'urge') AS urged,
       count(*) FILTER (WHERE f.m = 'closed_urged') AS closed_urged"""

# Counts per group (`{k}`, and the total): of facts `{facts}` with `{aggregates}`, as
# add_fact_counts fills them; per bucket of one group, FACT_COUNTS_BY_BUCKET_SQL.
FACT_COUNTS_SQL = """
WITH f AS ({facts}
)
SELECT {k} AS key, GROUPING({k}) = 1 AS total, {aggregates}
FROM f JOIN incidents i ON i.id = f.incident_id JOIN categories c ON c.code = i.category_code
WHERE {conds}
GROUP BY GROUPING SETS (({k}){overall})
LIMIT 100000
"""
# (`b`: the bucket of the fact's time among the buckets' bounds `%(bounds)s`)
FACT_COUNTS_BY_BUCKET_SQL = """
WITH f AS ({facts}
)
SELECT width_bucket(f.at, %(bounds)s::timestamptz[]) - 1 AS b, {aggregates}
FROM f JOIN incidents i ON i.id = f.incident_id JOIN categories c ON c.code = i.category_code
WHERE {conds} AND {k} = %(key)s
GROUP BY 1
"""


def group_key(group_by: str, level: str | None) -> sql.Composable:
    """The grouping expression over facts `f` (dept), incidents `i` and categories `c`."""
    if group_by == "department":
        return sql.SQL("f.dept")
    if group_by == "area":
        return sql.SQL("i.{}").format(sql.Identifier(f"{level}_code"))
    if level == "major":
        return sql.SQL("coalesce(c.parent_code, c.code)")
    return sql.SQL("i.category_code")


def _scope(over: Over) -> tuple[list[sql.Composable], dict[str, Any]]:
    """The conditions over `i` and `f.dept` that keep the facts within the caller's scope, and
    their parameters."""
    conds: list[sql.Composable] = [sql.SQL("true")]
    params: dict[str, Any] = {"t_from": over.t_from, "t_end": over.t_end}
    if over.scope_area is not None:
        conds.append(sql.SQL(AREA_COND).format(a=sql.Identifier("i")))
        params["vis_area"] = over.scope_area
    if over.scope_department is not None:
        conds.append(sql.SQL("f.dept = %(scope_dept)s"))
        params["scope_dept"] = over.scope_department
    return conds, params


def add_fact_counts(
    conn: Connection[Any],
    raw: list[dict[str, Any]],
    facts: tuple[str, str],
    counts: tuple[str, ...],
    over: Over,
) -> list[dict[str, Any]]:
    """The raw rows of `stats_rows` with `counts` from a separate per-group query added (new
    groups appended). `facts`: the facts (`f`: incident_id, dept, at) and their aggregates
    (FACT_COUNTS_SQL), within the caller's scope over `i` (incidents) and `f.dept` (the
    department the fact is attributed to)."""
    conds, params = _scope(over)
    query = sql.SQL(FACT_COUNTS_SQL).format(
        facts=sql.SQL(facts[0]),
        aggregates=sql.SQL(facts[1]),
        k=group_key(over.group_by, over.level),
        conds=sql.SQL(" AND ").join(conds),
        overall=overall(over.total),
    )
    return merge_counts(raw, conn.execute(query, params).fetchall(), counts)


def fact_counts_by_bucket(
    conn: Connection[Any],
    facts: tuple[str, str],
    counts: tuple[str, ...],
    overs: list[Over],
    key: str,
) -> list[dict[str, Any]]:
    """`add_fact_counts` of group `key` in each of `overs`, contiguous periods of one grouping
    and scope (a trend's buckets), in one statement: per period, its counts (zeros where none)."""
    conds, params = _scope(overs[0])
    params.update(
        t_end=overs[-1].t_end, key=key, bounds=[o.t_from for o in overs] + [overs[-1].t_end]
    )
    query = sql.SQL(FACT_COUNTS_BY_BUCKET_SQL).format(
        facts=sql.SQL(facts[0]),
        aggregates=sql.SQL(facts[1]),
        k=group_key(overs[0].group_by, overs[0].level),
        conds=sql.SQL(" AND ").join(conds),
    )
    found = {r["b"]: r for r in conn.execute(query, params).fetchall()}
    return [{c: found[b][c] if b in found else 0 for c in counts} for b in range(len(overs))]


def add_urge_counts(
    conn: Connection[Any], raw: list[dict[str, Any]], over: Over
) -> list[dict[str, Any]]:
    """The raw rows with the urge counts (督办次数, 督办件数, 督办后结案数) added."""
    return add_fact_counts(conn, raw, (URGE_FACTS, URGE_AGGREGATES), URGE_COUNTS, over)


def merge_counts(
    raw: list[dict[str, Any]], extra: list[dict[str, Any]], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Add `keys` of `extra` rows to the raw rows with the same (key, total); append new groups.

    A row no extra row matches is returned as it is, without `keys` (`stats.figures` reads an
    absent count as 0): most rows of a city's 10,000 grids have no urge or rating."""
    found = {(r["key"], r["total"]): r for r in extra}
    out = []
    for row in raw:
        more = found.pop((row["key"], row["total"]), None)
        out.append(row if more is None else {**row, **{k: more.get(k, 0) for k in keys}})
    out.extend(dict(r) for r in found.values() if any(r[k] for k in keys))
    return out
