"""Evaluation facts kept current per event by triggers (migrations 0020 and 0027).

What each incident's log means for docs/metrics.md, read by `api.services.evaluation.query`
instead of
the log for incidents whose last event lies before the end of observation; 0027 adds the facts
with their times and groups and the day and month rollups read by `api.services.evaluation.rollup`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from api.db.models import incidents, metadata

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
    # the incidents reported before T with an event at or after it (api.services.evaluation.rollup)
    Index(
        "ix_eval_incidents_span",
        text("tstzrange(reported_at, last_at, '[]'::text)"),
        postgresql_using="gist",
    ),
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

# 0027: the incident's groups copied onto each fact (a change of them moves its facts)
KEYS = ("category", "district", "street", "community", "grid", "responsible")
# the facts summed per day and month (read by api.services.evaluation.rollup)
ROLLED = (
    "reported",
    "registered",
    "dispatched",
    "returned",
    "rejected",
    "closed",
    "handle_due",
    "handle_on_time",
    "close_due",
    "close_done",
    "close_on_time",
    "reworked",
    "checkin_due",
    "checkin_on_time",
    "handles",
)


def _keys() -> list[Column[str]]:
    return [Column(k, Text) for k in KEYS]


eval_facts = Table(
    "eval_facts",
    metadata,
    Column("incident_id", BigInteger, nullable=False),
    Column("m", Text, nullable=False, comment="what it counts (docs/metrics.md)"),
    Column("at", TS, nullable=False, comment="when it counts"),
    Column("at2", TS, comment="a repeat: the previous handling report"),
    Column("dept", Text),
    *_keys(),
    Column("secs", Float),
    Index("ix_eval_facts_incident_id", "incident_id"),
    Index("ix_eval_facts_m_at", "m", "at"),
)

eval_times = Table(
    "eval_times",
    metadata,
    Column("incident_id", BigInteger, nullable=False),
    Column("at", TS, nullable=False, comment="handled at"),
    Column("secs", Float, nullable=False, comment="since the dispatch"),
    Column("dept", Text),
    *_keys(),
    Index("ix_eval_times_incident_id", "incident_id"),
    Index("ix_eval_times_at", "at"),
)

eval_open = Table(
    "eval_open",
    metadata,
    Column("incident_id", BigInteger, nullable=False),
    Column("reported_at", TS),
    Column("due", TS, comment="deadline in force"),
    Column("dept", Text),
    *_keys(),
    PrimaryKeyConstraint("incident_id", name="pk_eval_open"),
)

ROLLUPS = {
    "eval_roll_dept": ("dept", "category", "district", "street"),
    "eval_roll_area": ("district", "street", "community", "grid"),
}
for _name, _cols in ROLLUPS.items():
    Table(
        _name,
        metadata,
        Column("grain", Text, nullable=False, comment="d: local day, m: month"),
        Column("bucket", Date, nullable=False),
        *[Column(k, Text) for k in _cols],
        *[Column(m, Integer, nullable=False) for m in ROLLED],
        UniqueConstraint(
            "grain", "bucket", *_cols, name=f"uq_{_name}", postgresql_nulls_not_distinct=True
        ),
    )

Index(
    "ix_incidents_urged_closed_at",
    incidents.c.closed_at,
    postgresql_where=text("urge_count > 0"),
)
