"""回访 in the evaluation: ratings of the period, 满意率 and 回访率 (docs/metrics.md).

A query of its own over `incident_ratings` (index ix_incident_ratings_rated_at), merged into
the raw rows of `stats_rows` like the urge counts; the rates are computed by `stats.figures`.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.services.evaluation.query import Over
from api.services.evaluation.urge import add_fact_counts

FOLLOWUP_COUNTS = ("rated", "satisfied")

# The ratings of [t_from, t_end) with their times (`at`), and their counts per group
# (urge.FACT_COUNTS_SQL).
FOLLOWUP_FACTS = """
    SELECT r.incident_id, r.department_code AS dept, r.rating, r.rated_at AS at
    FROM incident_ratings r
    WHERE r.rated_at >= %(t_from)s AND r.rated_at < %(t_end)s"""
FOLLOWUP_AGGREGATES = """count(*) AS rated,
       count(*) FILTER (WHERE f.rating IN ('satisfied', 'basically_satisfied')) AS satisfied"""


def add_followup_counts(
    conn: Connection[Any], raw: list[dict[str, Any]], over: Over
) -> list[dict[str, Any]]:
    """The raw rows with 回访数 and 满意数 added (new groups appended)."""
    return add_fact_counts(conn, raw, (FOLLOWUP_FACTS, FOLLOWUP_AGGREGATES), FOLLOWUP_COUNTS, over)
