"""An area scope's evaluation from the rollups (a dispatcher's street, community or grid).

A dispatcher's figures read every incident whose grid, community, street, district or current
responsible area is the scope area (docs/metrics.md "Who sees what"). The rollups are keyed by
the areas a case lies in, so they serve such a scope directly; what they cannot find is a case
whose responsible area is none of its own areas (a point outside every grid, placed in the
nearest). A partial index holds those facts (few), and the repeats' index now carries the
responsible area too, so a scoped read of them stays index-only
(api/services/evaluation/rollup.py, docs/performance.md).
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_eval_area_scope"
down_revision = "0030_one_head"

OFF_HIERARCHY = (
    "responsible IS NOT NULL AND responsible IS DISTINCT FROM district"
    " AND responsible IS DISTINCT FROM street AND responsible IS DISTINCT FROM community"
    " AND responsible IS DISTINCT FROM grid"
)
REPEATS = "m IN ('repeat', 'repeat_dept')"
REPEAT_INCLUDE = ("at2", "dept", "category", "district", "street", "community", "grid")


def _repeats(include: tuple[str, ...]) -> None:
    op.drop_index("ix_eval_facts_repeats", table_name="eval_facts")
    op.create_index(
        "ix_eval_facts_repeats",
        "eval_facts",
        ["m", "at"],
        postgresql_include=list(include),
        postgresql_where=sa.text(REPEATS),
    )


def upgrade() -> None:
    op.create_index(
        "ix_eval_facts_off_hierarchy",
        "eval_facts",
        ["responsible", "at"],
        postgresql_where=sa.text(OFF_HIERARCHY),
    )
    _repeats((*REPEAT_INCLUDE, "responsible"))
    op.execute("ANALYZE eval_facts")


def downgrade() -> None:
    _repeats(REPEAT_INCLUDE)
    op.drop_index("ix_eval_facts_off_hierarchy", table_name="eval_facts")
