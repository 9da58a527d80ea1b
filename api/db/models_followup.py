"""回访: the reporter's (or a phone follow-up's) satisfaction with a closed case, once per case."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Table,
    Text,
    text,
)

from api.db.models import incidents, metadata

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")

incident_ratings = Table(
    "incident_ratings",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("rating", Text, nullable=False),
    Column("comment", Text),
    Column("channel", Text, nullable=False, comment="reporter (online) or phone (by a dispatcher)"),
    Column("recorded_by", Text, comment="the dispatcher who phoned; NULL when the reporter rated"),
    Column("rated_at", DateTime(timezone=True), nullable=False),
    Column("department_code", Text, comment="the lead department when rated (evaluation)"),
    CheckConstraint("rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')", name="rating"),
    CheckConstraint("channel IN ('reporter', 'phone')", name="channel"),
    CheckConstraint("(channel = 'phone') = (recorded_by IS NOT NULL)", name="recorded_by"),
    CheckConstraint("char_length(comment) <= 2000", name="comment_length"),
    # The evaluation counts a period's ratings (api/services/evaluation/followup.py).
    Index("ix_incident_ratings_rated_at", "rated_at"),
)

# "My reports": a resident's own reports, newest first (partial: most reports are anonymous).
Index(
    "ix_incidents_reporter_user_id",
    incidents.c.reporter_user_id,
    incidents.c.id,
    postgresql_where=text("reporter_user_id IS NOT NULL"),
)
