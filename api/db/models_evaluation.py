"""Evaluation facts kept current per event by a trigger (migration 0020_evaluation_facts).

What each incident's log means for docs/metrics.md, read by `api.services.stats_query` instead of
the log for incidents whose last event lies before the end of observation.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Table, Text

from api.db.models import metadata

TS = DateTime(timezone=True)

eval_incidents = Table(
    "eval_incidents",
    metadata,
    Column("incident_id", BigInteger, primary_key=True),
    Column("last_at", TS, nullable=False, comment="time of the last event"),
    Column("reported_at", TS),
    Column("report_dept", Text),
    Column("registered_at", TS),
    Column("register_dept", Text),
    Column("rejected_at", TS),
    Column("rejected_dept", Text),
    Column("closed_at", TS, comment="first passed verification"),
    Column("closed_dept", Text),
    Column("reworks", Integer, nullable=False),
    Column("close_due", TS, comment="deadline in force before closing"),
    Column("close_lead", Text, comment="lead of the last dispatch"),
)

eval_episodes = Table(
    "eval_episodes",
    metadata,
    Column("incident_id", BigInteger, primary_key=True),
    Column("ep", Integer, primary_key=True, comment="bounds counted up to its dispatch"),
    Column("lead", Text),
    Column("dispatched_at", TS, nullable=False),
    Column("end_at", TS),
    Column("end_action", Text),
    Column("end_dept", Text),
    Column("handled_at", TS, comment="first handling report"),
    Column("due", TS, comment="deadline before handling, end or now"),
)

eval_handles = Table(
    "eval_handles",
    metadata,
    Column("event_id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("at", TS, nullable=False),
    Column("dept", Text),
    Index("ix_eval_handles_incident_id", "incident_id"),
)
