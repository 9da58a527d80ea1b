"""督办/催办: how many times a case was urged, kept on the incident row (migration 0025_urge)."""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import incident_events, incidents

incidents.append_column(sa.Column("urge_count", sa.Integer, nullable=False, server_default="0"))
incidents.append_constraint(sa.CheckConstraint("urge_count >= 0", name="urge_count"))

# The evaluation counts a period's urges (api/services/evaluation/urge.py).
sa.Index(
    "ix_incident_events_urge_at",
    incident_events.c.at,
    postgresql_where=sa.text("action = 'urge'"),
)
