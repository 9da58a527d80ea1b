"""Handling times in (group, seconds) order: the p90 per group without sorting the year;
the repeats of handling from an index.

The evaluation's p90 handling time (`percentile_cont(0.9)`, docs/metrics.md) per grid,
department or category sorted every handling time of the period by its group first: ≈ 820,000
rows for a year at 1,000,000 incidents, 1.2–1.7 s of CPU for the grid alone, whatever the number
of groups. Read from an index on (group, secs) that carries `at`, the times arrive in group and
seconds order (an index-only scan), so the grouping needs no sort and each group's ordered-set
aggregate finds its input already sorted (docs/performance.md, "2026-12-05 (evening)").

The repeats of handling (a handling report whose previous one is in the period too: 处置数
counts incidents) are read from `eval_facts` for the whole period, ≈ 99,000 rows for a year at
1,000,000; a partial index carrying their groups serves them from the index alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_eval_times_order"
down_revision = "0028_eval_fast"

# The groupings whose p90 is read at the scale of a year (api/services/evaluation/rollup.py).
ORDERED = ("grid", "dept", "category")
# The repeats, with the groups of both rollups.
REPEATS = "m IN ('repeat', 'repeat_dept')"
REPEAT_INCLUDE = ("at2", "dept", "category", "district", "street", "community", "grid")


def upgrade() -> None:
    for key in ORDERED:
        op.create_index(
            f"ix_eval_times_{key}_secs",
            "eval_times",
            [key, "secs"],
            postgresql_include=["at"],
        )
    op.create_index(
        "ix_eval_facts_repeats",
        "eval_facts",
        ["m", "at"],
        postgresql_include=list(REPEAT_INCLUDE),
        postgresql_where=sa.text(REPEATS),
    )
    # the planner chooses an index-only scan only with statistics (VACUUM, which sets the
    # visibility map, cannot run in the migration's transaction: autovacuum does it)
    op.execute("ANALYZE eval_times, eval_facts")


def downgrade() -> None:
    op.drop_index("ix_eval_facts_repeats", table_name="eval_facts")
    for key in ORDERED:
        op.drop_index(f"ix_eval_times_{key}_secs", table_name="eval_times")
