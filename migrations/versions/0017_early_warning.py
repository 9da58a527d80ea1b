"""Early warning and evaluation: index reject events by the incident they duplicate, and
incidents by closing time.

Revision ID: 0017_early_warning
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_early_warning"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # GET /api/v1/incidents/{id} lists the reports rejected as duplicates of this one.
    op.execute(
        "CREATE INDEX ix_incident_events_duplicate_of ON incident_events "
        "((data ->> 'duplicate_of')) WHERE action = 'reject'"
    )
    op.create_index("ix_incidents_closed_at", "incidents", ["closed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incidents_closed_at", table_name="incidents")
    op.execute("DROP INDEX ix_incident_events_duplicate_of")
