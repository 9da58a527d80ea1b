"""督办/催办: incidents.urge_count (each urge is also an 'urge' event in incident_events)."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import create_partial_index

revision = "0025_urge"
down_revision = "0004_workflow"


def upgrade() -> None:
    # The default fills existing rows, so this runs forward on a populated database.
    op.add_column(
        "incidents", sa.Column("urge_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(op.f("ck_incidents_urge_count"), "incidents", "urge_count >= 0")
    # The evaluation counts the urges of a period (api/services/evaluation/urge.py).
    create_partial_index("ix_incident_events_urge_at", "incident_events", ["at"], "action = 'urge'")


def downgrade() -> None:
    op.drop_index("ix_incident_events_urge_at", table_name="incident_events")
    op.drop_constraint(op.f("ck_incidents_urge_count"), "incidents", type_="check")
    op.drop_column("incidents", "urge_count")
