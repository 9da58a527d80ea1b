"""Tables of the closed loop: joint-handling departments and 吹哨报到 whistles with check-ins.

The incident's own workflow columns (rework_count, escalation_level, suspension, extension
request) are in `api.db.models.incidents`; the history of every step is `incident_events`.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import id_column, incident_column, incidents, metadata

# `?overdue=true` and overdue counts look only at open incidents with a deadline.
sa.Index(
    "ix_incidents_due_at_open",
    incidents.c.due_at,
    postgresql_where=sa.text("closed_at IS NULL AND due_at IS NOT NULL"),
)

# Supporting departments of a joint dispatch (大联勤); the lead is incidents.department_code.
incident_supports = sa.Table(
    "incident_supports",
    metadata,
    incident_column(primary_key=True),
    sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code"), primary_key=True),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_by", sa.Text),
    sa.CheckConstraint("(acknowledged_at IS NULL) = (acknowledged_by IS NULL)", name="ack_by"),
    sa.Index("ix_incident_supports_department_code", "department_code"),
)

whistles = sa.Table(
    "whistles",
    metadata,
    id_column(),
    incident_column(nullable=False),
    sa.Column("called_by", sa.Text, nullable=False),
    sa.Column("area_code", sa.Text, comment="scope area of the dispatcher who whistled"),
    sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline_minutes", sa.Integer, nullable=False),
    sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text),
    # a whistle ends with its case (closed, rejected) or when a dispatcher withdraws it
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("ended_by", sa.Text),
    sa.Column(
        "end_reason",
        sa.Text,
        comment="closed or rejected (with the case), or withdrawn by a dispatcher",
    ),
    sa.CheckConstraint("deadline_minutes > 0", name="deadline_minutes"),
    sa.CheckConstraint("deadline_at > called_at", name="deadline_after_call"),
    sa.CheckConstraint(
        "(ended_at IS NULL) = (end_reason IS NULL) AND (ended_at IS NULL) = (ended_by IS NULL)",
        name="ended",
    ),
    sa.CheckConstraint("end_reason IN ('closed', 'rejected', 'withdrawn')", name="end_reason"),
    sa.Index("ix_whistles_incident_id", "incident_id"),
)

# One check-in obligation per summoned department; checked_in_at stays NULL until it reports in.
whistle_checkins = sa.Table(
    "whistle_checkins",
    metadata,
    sa.Column("whistle_id", sa.BigInteger, sa.ForeignKey("whistles.id"), primary_key=True),
    sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code"), primary_key=True),
    sa.Column("checked_in_at", sa.DateTime(timezone=True)),
    sa.Column("checked_in_by", sa.Text),
    sa.Column("late", sa.Boolean),
    # set when the whistle ended before this department reported in or missed its deadline
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("cancelled_at IS NULL OR checked_in_at IS NULL", name="cancelled"),
    sa.CheckConstraint(
        "(checked_in_at IS NULL) = (late IS NULL) AND (checked_in_at IS NULL) = "
        "(checked_in_by IS NULL)",
        name="checked_in",
    ),
    sa.Index("ix_whistle_checkins_department_code", "department_code"),
)
