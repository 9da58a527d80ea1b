"""Events no fact reads write nothing to the evaluation's tables.

Since 0028 an event no fact depends on (accept, escalate, urge, reassign, acknowledge, …) only
moved its incident's `eval_incidents.last_at`, which tells the evaluation that the incident's log
went on after a period's end T (then its figures at T are read from the log, not from the stored
facts). That is needed only for events that facts read: when every fact-relevant event is before
T, the stored facts (computed from the whole log) are exactly those of the log up to T, whatever
else was logged after it. So `last_at` now only has to be at or after the last such event, and
those events change nothing: a boundary edit's 5,011 `reassign` events no longer rewrite 5,011
rows of `eval_incidents` and their range index (≈ 0.15 s of the edit at 1,000,000; docs/
performance.md). tests/test_stats_random.py checks the figures of periods ending before such
events against a plain reading of the definitions.
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0032_eval_last_fact"
down_revision = "0031_eval_area_scope"

_M20 = importlib.import_module("migrations.versions.0020_evaluation_facts")
_M28 = importlib.import_module("migrations.versions.0028_eval_fast")
_ACTIONS = ", ".join(f"'{a}'" for a in _M28.FACT_ACTIONS)

EVENTS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridgov_eval_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
{_M20.NEW_REPORTS}        PERFORM gridgov_eval_facts(ARRAY(SELECT DISTINCT incident_id FROM new_rows));
        RETURN NULL;
    END IF;
    -- recomputed from their log: incidents with an event a fact reads, or with no facts yet;
    -- an incident with facts and only other events keeps them, and its last_at
    ids := ARRAY(
        SELECT n.incident_id FROM new_rows n GROUP BY n.incident_id
        HAVING bool_or(n.action IN ({_ACTIONS}))
            OR NOT EXISTS (SELECT 1 FROM eval_incidents f WHERE f.incident_id = n.incident_id)
    );
    PERFORM gridgov_eval_refresh(ids);
    PERFORM gridgov_eval_facts(ids);
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

COMMENT = "at or after the last event a fact reads"


def upgrade() -> None:
    op.execute(EVENTS_FUNCTION)
    op.alter_column(
        "eval_incidents",
        "last_at",
        comment=COMMENT,
        existing_comment="time of the last event",
        existing_type=sa.DateTime(timezone=True),
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "eval_incidents",
        "last_at",
        comment="time of the last event",
        existing_comment=COMMENT,
        existing_type=sa.DateTime(timezone=True),
        existing_nullable=False,
    )
    op.execute(_M28.EVENTS_FUNCTION)
