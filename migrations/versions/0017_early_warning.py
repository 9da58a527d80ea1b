"""Early warning and evaluation: index reject events by the incident they duplicate, and
incidents by closing time.
"""

from alembic import op

from migrations.ddl import create_index, drop_index

revision = "0017_early_warning"
down_revision = "0001"


def upgrade() -> None:
    # GET /api/v1/incidents/{id} lists the reports rejected as duplicates of this one.
    op.execute(
        "CREATE INDEX ix_incident_events_duplicate_of ON incident_events "
        "((data ->> 'duplicate_of')) WHERE action = 'reject'"
    )
    create_index("incidents", "closed_at")


def downgrade() -> None:
    drop_index("incidents", "closed_at")
    op.execute("DROP INDEX ix_incident_events_duplicate_of")
