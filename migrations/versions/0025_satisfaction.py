"""回访: incident_ratings (满意 / 基本满意 / 不满意), one per case; an index for "my reports".

Revision ID: 0025_satisfaction
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_satisfaction"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_ratings",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column(
            "channel",
            sa.Text(),
            nullable=False,
            comment="reporter (online) or phone (by a dispatcher)",
        ),
        sa.Column(
            "recorded_by",
            sa.Text(),
            nullable=True,
            comment="the dispatcher who phoned; NULL when the reporter rated",
        ),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "department_code",
            sa.Text(),
            nullable=True,
            comment="the lead department when rated (evaluation)",
        ),
        sa.CheckConstraint(
            "rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')",
            name=op.f("ck_incident_ratings_rating"),
        ),
        sa.CheckConstraint(
            "channel IN ('reporter', 'phone')", name=op.f("ck_incident_ratings_channel")
        ),
        sa.CheckConstraint(
            "(channel = 'phone') = (recorded_by IS NOT NULL)",
            name=op.f("ck_incident_ratings_recorded_by"),
        ),
        sa.CheckConstraint(
            "char_length(comment) <= 2000", name=op.f("ck_incident_ratings_comment_length")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_ratings_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_ratings")),
    )
    op.create_index("ix_incident_ratings_rated_at", "incident_ratings", ["rated_at"])
    # "My reports": a resident's own reports, newest first.
    op.create_index(
        "ix_incidents_reporter_user_id",
        "incidents",
        ["reporter_user_id", "id"],
        unique=False,
        postgresql_where=sa.text("reporter_user_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_incidents_reporter_user_id",
        table_name="incidents",
        postgresql_where=sa.text("reporter_user_id IS NOT NULL"),
    )
    op.drop_index("ix_incident_ratings_rated_at", table_name="incident_ratings")
    op.drop_table("incident_ratings")
