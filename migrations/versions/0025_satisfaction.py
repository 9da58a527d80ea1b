"""回访: incident_ratings (满意 / 基本满意 / 不满意), one per case; an index for "my reports"."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, checks, col, create_index, create_partial_index, drop_index, fk, pk

revision = "0025_satisfaction"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "incident_ratings",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        col("channel", sa.Text(), "reporter (online) or phone (by a dispatcher)", nullable=False),
        col("recorded_by", sa.Text(), "the dispatcher who phoned; NULL when the reporter rated"),
        sa.Column("rated_at", TS, nullable=False),
        col("department_code", sa.Text(), "the lead department when rated (evaluation)"),
        *checks(
            "incident_ratings",
            rating="rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')",
            channel="channel IN ('reporter', 'phone')",
            recorded_by="(channel = 'phone') = (recorded_by IS NOT NULL)",
            comment_length="char_length(comment) <= 2000",
        ),
        fk("incident_ratings", "incident_id", "incidents.id"),
        pk("incident_ratings", "incident_id"),
    )
    create_index("incident_ratings", "rated_at")
    # "My reports": a resident's own reports, newest first.
    create_partial_index(
        "ix_incidents_reporter_user_id",
        "incidents",
        ["reporter_user_id", "id"],
        "reporter_user_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_reporter_user_id", table_name="incidents")
    drop_index("incident_ratings", "rated_at")
    op.drop_table("incident_ratings")
