"""A department's episodes by index: the incidents a department led, found without a scan.

A department's trend first finds the incidents live at its bucket ends that it led (an
episode with `lead` = the department, api/services/evaluation/live_sets.py). Without an index
that read every episode of the history (≈ 900,000 at 1,000,000 incidents, ≈ 60 ms of a
department's 30 days by day, growing with the years kept); with it, the department's own
(docs/performance.md, 2026-12-06, night).
"""

from alembic import op

revision = "0035_eval_episodes_lead"
down_revision = "0034_eval_dept_grid"


def upgrade() -> None:
    op.create_index("ix_eval_episodes_lead", "eval_episodes", ["lead", "incident_id"])
    op.execute("ANALYZE eval_episodes")


def downgrade() -> None:
    op.drop_index("ix_eval_episodes_lead", table_name="eval_episodes")
