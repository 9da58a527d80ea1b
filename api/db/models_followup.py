"""回访: the reporter's (or a phone follow-up's) satisfaction with a closed case, once per case."""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import incident_column, incidents, metadata

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")

incident_ratings = sa.Table(
    "incident_ratings",
    metadata,
    incident_column(primary_key=True),
    sa.Column("rating", sa.Text, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column(
        "channel", sa.Text, nullable=False, comment="reporter (online) or phone (by a dispatcher)"
    ),
    sa.Column(
        "recorded_by", sa.Text, comment="the dispatcher who phoned; NULL when the reporter rated"
    ),
    sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("department_code", sa.Text, comment="the lead department when rated (evaluation)"),
    sa.CheckConstraint(
        "rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')", name="rating"
    ),
    sa.CheckConstraint("channel IN ('reporter', 'phone')", name="channel"),
    sa.CheckConstraint("(channel = 'phone') = (recorded_by IS NOT NULL)", name="recorded_by"),
    sa.CheckConstraint("char_length(comment) <= 2000", name="comment_length"),
    # The evaluation counts a period's ratings (api/services/evaluation/followup.py).
    sa.Index("ix_incident_ratings_rated_at", "rated_at"),
)

# "My reports": a resident's own reports, newest first (partial: most reports are anonymous).
sa.Index(
    "ix_incidents_reporter_user_id",
    incidents.c.reporter_user_id,
    incidents.c.id,
    postgresql_where=sa.text("reporter_user_id IS NOT NULL"),
)
