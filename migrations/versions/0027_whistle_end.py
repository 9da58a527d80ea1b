"""Whistles end: closed or rejected with their case, or withdrawn by a dispatcher.

whistles.ended_at / ended_by / end_reason ('closed', 'rejected', 'withdrawn'); a summons still
pending when its whistle ends is cancelled (whistle_checkins.cancelled_at) and can no longer be
answered. Summonses whose deadline had already passed stay 'missing'.
"""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, col

revision = "0027_whistle_end"
down_revision = "0004_workflow"

END_REASON = "closed or rejected (with the case), or withdrawn by a dispatcher"


def upgrade() -> None:
    op.add_column("whistles", col("ended_at", TS))
    op.add_column("whistles", col("ended_by", sa.Text()))
    op.add_column("whistles", col("end_reason", sa.Text(), END_REASON))
    op.create_check_constraint(
        op.f("ck_whistles_ended"),
        "whistles",
        "(ended_at IS NULL) = (end_reason IS NULL) AND (ended_at IS NULL) = (ended_by IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_whistles_end_reason"),
        "whistles",
        "end_reason IN ('closed', 'rejected', 'withdrawn')",
    )
    op.add_column("whistle_checkins", col("cancelled_at", TS))
    op.create_check_constraint(
        op.f("ck_whistle_checkins_cancelled"),
        "whistle_checkins",
        "cancelled_at IS NULL OR checked_in_at IS NULL",
    )
    # Whistles of cases already closed or rejected end now: their pending summonses are cancelled.
    op.execute(
        """
        WITH ended AS (
            UPDATE whistles w SET ended_at = greatest(i.updated_at, w.called_at),
                   ended_by = 'migration', end_reason = i.status
            FROM incidents i
            WHERE i.id = w.incident_id AND i.status IN ('closed', 'rejected')
            RETURNING w.id, w.ended_at, w.deadline_at
        )
        UPDATE whistle_checkins k SET cancelled_at = e.ended_at
        FROM ended e
        WHERE k.whistle_id = e.id AND k.checked_in_at IS NULL AND e.deadline_at > e.ended_at
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_whistle_checkins_cancelled"), "whistle_checkins", type_="check")
    op.drop_column("whistle_checkins", "cancelled_at")
    op.drop_constraint(op.f("ck_whistles_end_reason"), "whistles", type_="check")
    op.drop_constraint(op.f("ck_whistles_ended"), "whistles", type_="check")
    op.drop_column("whistles", "end_reason")
    op.drop_column("whistles", "ended_by")
    op.drop_column("whistles", "ended_at")
