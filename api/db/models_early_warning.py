"""Indexes for evaluation and early warning (migration 0017_early_warning); no new tables.

Linking duplicates reads reject events by the incident they repeat, and repeat locations and the
statistics select incidents by when they were closed.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import incident_events, incidents

sa.Index(
    "ix_incident_events_duplicate_of",
    incident_events.c.data["duplicate_of"].astext,
    postgresql_where=sa.text("action = 'reject'"),
)
sa.Index("ix_incidents_closed_at", incidents.c.closed_at)
# migration 0027_scale_reads: the incident list's `since` filter at a million incidents
sa.Index("ix_incidents_updated_at", incidents.c.updated_at)
# migration 0028_scale_reads2: repeat locations by building (closed incidents with a building)
sa.Index(
    "ix_incidents_closed_building",
    incidents.c.closed_at,
    postgresql_where=sa.text("status = 'closed' AND building_id IS NOT NULL"),
)
