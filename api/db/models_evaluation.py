"""Evaluation facts kept current per event by triggers (migrations 0020 and 0027).

What each incident's log means for docs/metrics.md, read by `api.services.evaluation.query`
instead of
the log for incidents whose last event lies before the end of observation; 0027 adds the facts
with their times and groups and the day and month rollups read by `api.services.evaluation.rollup`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from api.db.models import incidents, metadata

TS = sa.DateTime(timezone=True)
IN_ORDER = "the events facts read are in time order"

eval_incidents = sa.Table(
    "eval_incidents",
    metadata,
    sa.Column("incident_id", sa.BigInteger, primary_key=True),
    sa.Column("last_at", TS, nullable=False, comment="at or after the last event a fact reads"),
    sa.Column("reported_at", TS),
    sa.Column("report_dept", sa.Text),
    sa.Column("registered_at", TS),
    sa.Column("register_dept", sa.Text),
    sa.Column("rejected_at", TS),
    sa.Column("rejected_dept", sa.Text),
    sa.Column("closed_at", TS, comment="first passed verification"),
    sa.Column("closed_dept", sa.Text),
    sa.Column("reworks", sa.Integer, nullable=False),
    sa.Column("close_due", TS, comment="deadline in force before closing"),
    sa.Column("close_lead", sa.Text, comment="lead of the last dispatch"),
    # what its facts need to be read as of a past T (migration 0037, docs/metrics.md)
    sa.Column(
        "ordered", sa.Boolean, nullable=False, server_default=sa.text("true"), comment=IN_ORDER
    ),
    sa.Column("last_mark_at", TS, comment="time of the last deadline mark"),
    sa.Column("last_due", TS, comment="deadline the last mark left"),
    sa.Column("reworked_at", TS, comment="first failed verification"),
    # the incidents reported before T with an event at or after it (api.services.evaluation.rollup)
    sa.Index(
        "ix_eval_incidents_span",
        sa.text("tstzrange(reported_at, last_at, '[]'::text)"),
        postgresql_using="gist",
    ),
)

eval_episodes = sa.Table(
    "eval_episodes",
    metadata,
    sa.Column("incident_id", sa.BigInteger, primary_key=True),
    sa.Column("ep", sa.Integer, primary_key=True, comment="bounds counted up to its dispatch"),
    sa.Column("lead", sa.Text),
    sa.Column("dispatched_at", TS, nullable=False),
    sa.Column("end_at", TS),
    sa.Column("end_action", sa.Text),
    sa.Column("end_dept", sa.Text),
    sa.Column("handled_at", TS, comment="first handling report"),
    sa.Column("due", TS, comment="deadline before handling, end or now"),
    sa.Index("ix_eval_episodes_lead", "lead", "incident_id"),  # a department's (migration 0035)
)

eval_handles = sa.Table(
    "eval_handles",
    metadata,
    sa.Column("event_id", sa.BigInteger, primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("dept", sa.Text),
    sa.Index("ix_eval_handles_incident_id", "incident_id"),
)

# 0027: the incident's groups copied onto each fact (a change of them moves its facts)
KEYS = ("category", "district", "street", "community", "grid", "responsible")
# the areas a case lies in, from the district down (rollups: api.services.evaluation.rollup)
AREA_KEYS = ("district", "street", "community", "grid")


def off_hierarchy(alias: str = "") -> str:
    """True for a fact whose responsible area is none of the areas its case lies in (a point
    outside every grid, placed in the nearest): the rollups do not find it by that area."""
    p = f"{alias}." if alias else ""
    return " AND ".join(
        [f"{p}responsible IS NOT NULL"]
        + [f"{p}responsible IS DISTINCT FROM {p}{k}" for k in AREA_KEYS]
    )


# the facts of a handling or closing obligation settled in the period (docs/metrics.md)
SETTLED = ("handle_due", "handle_on_time", "close_due", "close_done", "close_on_time", "reworked")
# the facts of a whistle's summons (吹哨报到)
CHECKINS = ("checkin_due", "checkin_on_time")
# the facts summed per day and month (read by api.services.evaluation.rollup)
ROLLED = (
    "reported",
    "registered",
    "dispatched",
    "returned",
    "rejected",
    "closed",
    *SETTLED,
    *CHECKINS,
    "handles",
)


def _keys() -> list[sa.Column[str]]:
    return [sa.Column(k, sa.Text) for k in KEYS]


eval_facts = sa.Table(
    "eval_facts",
    metadata,
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("m", sa.Text, nullable=False, comment="what it counts (docs/metrics.md)"),
    sa.Column("at", TS, nullable=False, comment="when it counts"),
    sa.Column("at2", TS, comment="a repeat: the previous handling report"),
    sa.Column("dept", sa.Text),
    *_keys(),
    sa.Column("secs", sa.Float),
    sa.Index("ix_eval_facts_incident_id", "incident_id"),
    sa.Index("ix_eval_facts_m_at", "m", "at"),
    # the repeats of the period read from the index alone (migration 0029)
    sa.Index(
        "ix_eval_facts_repeats",
        "m",
        "at",
        postgresql_include=[
            "at2",
            "dept",
            "category",
            "district",
            "street",
            "community",
            "grid",
            "responsible",
        ],
        postgresql_where=sa.text("m IN ('repeat', 'repeat_dept')"),
    ),
    # an area scope's cases the rollups do not find by their areas (migration 0031)
    sa.Index(
        "ix_eval_facts_off_hierarchy",
        "responsible",
        "at",
        postgresql_where=sa.text(off_hierarchy()),
    ),
    # a community's facts, and a department's per community, read from the index alone
    # (migration 0034)
    sa.Index(
        "ix_eval_facts_community_dept",
        "community",
        "dept",
        "at",
        postgresql_include=["m", "grid", "category"],
    ),
)

eval_times = sa.Table(
    "eval_times",
    metadata,
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("at", TS, nullable=False, comment="handled at"),
    sa.Column("secs", sa.Float, nullable=False, comment="since the dispatch"),
    sa.Column("dept", sa.Text),
    *_keys(),
    sa.Index("ix_eval_times_incident_id", "incident_id"),
    sa.Index("ix_eval_times_at", "at"),
    # the p90 per group reads the times in (group, seconds) order (migration 0029)
    *(
        sa.Index(f"ix_eval_times_{k}_secs", k, "secs", postgresql_include=["at"])
        for k in ("grid", "dept", "category")
    ),
)

eval_open = sa.Table(
    "eval_open",
    metadata,
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("reported_at", TS),
    sa.Column("due", TS, comment="deadline in force"),
    sa.Column("dept", sa.Text),
    *_keys(),
    sa.PrimaryKeyConstraint("incident_id", name="pk_eval_open"),
)

ROLLUPS = {
    "eval_roll_dept": ("dept", "category", "district", "street"),
    "eval_roll_area": ("district", "street", "community", "grid"),
}
for _name, _cols in ROLLUPS.items():
    sa.Table(
        _name,
        metadata,
        sa.Column("grain", sa.Text, nullable=False, comment="d: local day, m: month"),
        sa.Column("bucket", sa.Date, nullable=False),
        *[sa.Column(k, sa.Text) for k in _cols],
        *[sa.Column(m, sa.Integer, nullable=False) for m in ROLLED],
        sa.UniqueConstraint(
            "grain", "bucket", *_cols, name=f"uq_{_name}", postgresql_nulls_not_distinct=True
        ),
    )

# A trend's past buckets, kept while `eval_stale.generation` is theirs (migration 0036,
# api/services/evaluation/bucket_cache.py); the generation, raised by triggers whenever a write
# can change a past bucket.
eval_stale = sa.Table(
    "eval_stale",
    metadata,
    sa.Column("one", sa.Boolean, primary_key=True, server_default=sa.text("true")),
    sa.Column("generation", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("one", name="eval_stale_one_check"),
)
# The changes to the facts of past days that raise no generation (migration 0038): a period's
# settled sums are kept with the snapshot they were read in, and these added
# (api/services/evaluation/sums_kept.py).
eval_settled_log = sa.Table(
    "eval_settled_log",
    metadata,
    sa.Column(
        "xid",
        sa.BigInteger,
        nullable=False,
        server_default=sa.text("(pg_current_xact_id())::text::bigint"),
    ),
    sa.Column("logged_at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
    sa.Column("s", sa.SmallInteger, nullable=False, comment="1: the fact added, -1: taken away"),
    sa.Column("m", sa.Text, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("at2", TS),
    sa.Column("dept", sa.Text),
    *[sa.Column(k, sa.Text) for k in KEYS],
    sa.Index("ix_eval_settled_log_xid", "xid"),
    sa.Index("ix_eval_settled_log_logged_at", "logged_at"),
)
eval_bucket_cache = sa.Table(
    "eval_bucket_cache",
    metadata,
    sa.Column("fingerprint", sa.Text, primary_key=True),  # code, schema, grouping and scope
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("t_from", TS, primary_key=True),
    sa.Column("t_end", TS, primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("figures", JSONB),  # the bucket's raw row; null: nothing counts
    sa.Column("kept_at", TS, nullable=False, server_default=sa.text("now()")),
)

sa.Index(
    "ix_incidents_urged_closed_at",
    incidents.c.closed_at,
    postgresql_where=sa.text("urge_count > 0"),
)
