"""A department's figures by community or grid, and a community's by department, from the facts.

The rollups hold a department's figures by district and street (`eval_roll_dept`) and an area's
figures by area (`eval_roll_area`); a department's figures by community or grid, and the
department or category figures of a community, read the whole event log (11–12 s and ≈ 3 s for
a year at 1,000,000 incidents). They now read the rolled facts of the period from `eval_facts`
through this index alone: a community's facts are one range of it, a department's are one range
per community (api/services/evaluation/rollup.py, docs/performance.md).
"""

from alembic import op

revision = "0034_eval_dept_grid"
down_revision = "0033_patrol_cells"


def upgrade() -> None:
    op.create_index(
        "ix_eval_facts_community_dept",
        "eval_facts",
        ["community", "dept", "at"],
        postgresql_include=["m", "grid", "category"],
    )
    op.execute("ANALYZE eval_facts")


def downgrade() -> None:
    op.drop_index("ix_eval_facts_community_dept", table_name="eval_facts")
