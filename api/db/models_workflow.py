"""Tables of the closed loop: joint-handling departments and 吹哨报到 whistles with check-ins.

The incident's own workflow columns (rework_count, escalation_level, suspension, extension
request) are in `api.db.models.incidents`; the history of every step is `incident_events`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    text,
)

from api.db.models import incidents, metadata

# `?overdue=true` and overdue counts look only at open incidents with a deadline.
Index(
    "ix_incidents_due_at_open",
    incidents.c.due_at,
    postgresql_where=text("closed_at IS NULL AND due_at IS NOT NULL"),
)

# Supporting departments of a joint dispatch (大联勤); the lead is incidents.department_code.
incident_supports = Table(
    "incident_supports",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("department_code", Text, ForeignKey("departments.code"), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", Text),
    CheckConstraint("(acknowledged_at IS NULL) = (acknowledged_by IS NULL)", name="ack_by"),
    Index("ix_incident_supports_department_code", "department_code"),
)

whistles = Table(
    "whistles",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False),
    Column("called_by", Text, nullable=False),
    Column("area_code", Text, comment="scope area of the dispatcher who whistled"),
    Column("called_at", DateTime(timezone=True), nullable=False),
    Column("deadline_minutes", Integer, nullable=False),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    # a whistle ends with its case (closed, rejected) or when a dispatcher withdraws it
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_by", Text),
    Column(
        "end_reason",
        Text,
        comment="closed or rejected (with the case), or withdrawn by a dispatcher",
    ),
    CheckConstraint("deadline_minutes > 0", name="deadline_minutes"),
    CheckConstraint("deadline_at > called_at", name="deadline_after_call"),
    CheckConstraint(
        "(ended_at IS NULL) = (end_reason IS NULL) AND (ended_at IS NULL) = (ended_by IS NULL)",
        name="ended",
    ),
    CheckConstraint("end_reason IN ('closed', 'rejected', 'withdrawn')", name="end_reason"),
    Index("ix_whistles_incident_id", "incident_id"),
)

# One check-in obligation per summoned department; checked_in_at stays NULL until it reports in.
whistle_checkins = Table(
    "whistle_checkins",
    metadata,
    Column("whistle_id", BigInteger, ForeignKey("whistles.id"), primary_key=True),
    Column("department_code", Text, ForeignKey("departments.code"), primary_key=True),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("checked_in_by", Text),
    Column("late", Boolean),
    # set when the whistle ended before this department reported in or missed its deadline
    Column("cancelled_at", DateTime(timezone=True)),
    CheckConstraint("cancelled_at IS NULL OR checked_in_at IS NULL", name="cancelled"),
    CheckConstraint(
        "(checked_in_at IS NULL) = (late IS NULL) AND (checked_in_at IS NULL) = "
        "(checked_in_by IS NULL)",
        name="checked_in",
    ),
    Index("ix_whistle_checkins_department_code", "department_code"),
)
