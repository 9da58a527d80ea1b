"""回访 in the evaluation: ratings of the period, 满意率 and 回访率 (docs/metrics.md).

A query of its own over `incident_ratings` (index ix_incident_ratings_rated_at), merged into
the raw rows of `stats_rows` like the urge counts; the rates are computed by `stats.figures`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.services.stats_urge import group_key, merge_counts
from api.services.visibility import AREA_COND

FOLLOWUP_COUNTS = ("rated", "satisfied")

FOLLOWUP_SQL = """
WITH f AS (
    SELECT r.incident_id, r.department_code AS dept, r.rating
    FROM incident_ratings r
    WHERE r.rated_at >= %(t_from)s AND r.rated_at < %(t_end)s
)
SELECT {k} AS key, GROUPING({k}) = 1 AS total,
       count(*) AS rated,
       count(*) FILTER (WHERE f.rating IN ('satisfied', 'basically_satisfied')) AS satisfied
FROM f JOIN incidents i ON i.id = f.incident_id JOIN categories c ON c.code = i.category_code
WHERE {conds}
GROUP BY GROUPING SETS (({k}), ())
LIMIT 100000
"""


def add_followup_counts(
    conn: Connection[Any],
    raw: list[dict[str, Any]],
    *,
    t_from: dt.datetime,
    t_end: dt.datetime,
    group_by: str,
    level: str | None,
    scope_area: str | None,
    scope_department: str | None,
) -> list[dict[str, Any]]:
    """The raw rows with 回访数 and 满意数 added (new groups appended)."""
    conds: list[sql.Composable] = [sql.SQL("true")]
    params: dict[str, Any] = {"t_from": t_from, "t_end": t_end}
    if scope_area is not None:
        conds.append(sql.SQL(AREA_COND).format(a=sql.Identifier("i")))
        params["vis_area"] = scope_area
    if scope_department is not None:
        conds.append(sql.SQL("f.dept = %(scope_dept)s"))
        params["scope_dept"] = scope_department
    query = sql.SQL(FOLLOWUP_SQL).format(
        k=group_key(group_by, level), conds=sql.SQL(" AND ").join(conds)
    )
    return merge_counts(raw, conn.execute(query, params).fetchall(), FOLLOWUP_COUNTS)
