"""The changes to the facts of past days, logged, so that a period's settled sums can be kept.

The statistics of a period up to now sum the rollups' rows of every day of it (a month by grid at
1,000,000 cases: ≈ 44,000 rows, ≈ 80 ms of the database's time per read). The days before today
are the same at every read unless a write changes a fact dated on one of them. Most writes do
not: an event's facts are dated at it (now) or at a deadline to come. Some do, and raise no
`eval_stale.generation`, because they are dated now: a case closed after its closing deadline
adds "closed" (已结案) at that deadline; an extension approved after the deadline passed moves
the "settled late" fact dated at the old one; a return or a suspension takes away facts at a
passed deadline (docs/performance.md, 2026-12-07 seventh session).

`gridgov_eval_facts` — which every write of the facts and rollups goes through, except the move
of a re-keyed incident, which raises the generation — compares an incident's facts before and
after, and logs in `eval_settled_log` each fact dated before today's local midnight (by the
clock, not the transaction's start) that was added (s = 1) or taken away (s = −1), with the
writing transaction's id — of incidents that had facts already (a new one's past facts are
back-dated writes, which raise the generation). The statistics keep the sums of a period's days before a midnight at
least an hour ago with the snapshot they were read in (api/services/evaluation/sums_kept.py),
and add at each read the logged changes that snapshot did not see: exact whatever commits
when, with no lock shared by writers. Rows logged over LOG_DAYS ago are deleted
(`bucket_cache.forget_old`); a kept period is read again before then.
"""

import importlib

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, col

revision = "0038_eval_settled"
down_revision = "0037_eval_as_of"

_M27 = importlib.import_module("migrations.versions.0027_evaluation_rollup")
_M28 = importlib.import_module("migrations.versions.0028_eval_fast")

TZ = _M27.BUCKET_TZ
KEYS = ", ".join(_M27.KEYS)
LOGGED = f"m, at, at2, dept, {KEYS}"
# A fact, as compared before and after (every column of eval_facts but its row id)
_FACT = _M27.FACT_COLS
# Dated before today, of an incident that had facts before: a new incident's facts dated before
# today were written back-dated, which raises the generation (or within its ten minutes' slack,
# and so never on a settled day); a bulk import or a scale build logs nothing.
_MIDNIGHT = f"date_trunc('day', clock_timestamp() AT TIME ZONE '{TZ}') AT TIME ZONE '{TZ}'"
_BEFORE_TODAY = f"d.at < {_MIDNIGHT} AND d.incident_id IN (SELECT o.incident_id FROM old o)"  # noqa: S608
# The facts dated before today added (1) or taken away (−1): logged.
_SETTLED = f"""settled AS (
        INSERT INTO eval_settled_log (s, {LOGGED})
        SELECT 1, {LOGGED} FROM (SELECT {_FACT} FROM ins EXCEPT ALL SELECT {_FACT} FROM old) d
        WHERE {_BEFORE_TODAY}
        UNION ALL
        SELECT -1, {LOGGED} FROM (SELECT {_FACT} FROM old EXCEPT ALL SELECT {_FACT} FROM ins) d
        WHERE {_BEFORE_TODAY}
    ),
    roll_dept AS ("""  # noqa: S608 (constants only)
assert _M27.FACTS_FUNCTION.count("roll_dept AS (") == 1
FACTS_FUNCTION = _M28._two_paths(
    "gridgov_eval_facts",
    _M28._statements(_M27.FACTS_FUNCTION.replace("roll_dept AS (", _SETTLED, 1)),
)
assert "INSERT INTO eval_settled_log" in FACTS_FUNCTION


def upgrade() -> None:
    op.create_table(
        "eval_settled_log",
        # the writing transaction (pg_current_xact_id(), a 64-bit xid8 as a number)
        col(
            "xid",
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text("(pg_current_xact_id())::text::bigint"),
        ),
        col("logged_at", TS, nullable=False, server_default=sa.text("clock_timestamp()")),
        col("s", sa.SmallInteger(), "1: the fact added, -1: taken away", nullable=False),
        col("m", sa.Text(), nullable=False),
        col("at", TS, nullable=False),
        col("at2", TS),
        col("dept", sa.Text()),
        *[col(k, sa.Text()) for k in _M27.KEYS],
    )
    op.create_index("ix_eval_settled_log_xid", "eval_settled_log", ["xid"])
    op.create_index("ix_eval_settled_log_logged_at", "eval_settled_log", ["logged_at"])
    op.execute(FACTS_FUNCTION)


def downgrade() -> None:
    op.execute(_M28.FACTS_FUNCTION)
    op.drop_table("eval_settled_log")
