"""督办/催办: how many times a case was urged, kept on the incident row (migration 0025_urge)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, text

from api.db.models import incident_events, incidents

incidents.append_column(Column("urge_count", Integer, nullable=False, server_default="0"))
incidents.append_constraint(CheckConstraint("urge_count >= 0", name="urge_count"))

# The evaluation counts a period's urges (api/services/evaluation/urge.py).
Index(
    "ix_incident_events_urge_at",
    incident_events.c.at,
    postgresql_where=text("action = 'urge'"),
)
