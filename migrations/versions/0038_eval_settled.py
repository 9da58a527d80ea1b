"""The count of changes to the facts of past days, so that a period's settled sums can be kept.

The statistics of a period up to now sum the rollups' rows of every day of it (a month by grid at
1,000,000 cases: ≈ 44,000 rows, ≈ 80 ms of the database's time per read). The days before today
are the same at every read unless a write changes a fact dated on one of them. Most writes do
not: an event's facts are dated at it (now) or at a deadline to come. Some do, and raise no
`eval_stale.generation`, because they are dated now: an extension approved after the deadline
passed moves the "settled late" fact dated at the old deadline; a return moves the department
a past-dated fact is counted for (docs/performance.md, 2026-12-07 sixth session).

`eval_settled.changes` counts them: `gridgov_eval_facts` — which every write of the facts and
rollups goes through, except the move of a re-keyed incident, which raises the generation —
compares an incident's facts before and after, and raises the count when a fact dated before
today's local midnight (by the clock, not the transaction's start) was added or taken away. The
statistics keep the sums of a period's days before a midnight at least an hour ago per
(generation, this count) (api/services/evaluation/sums_kept.py), read before them: a write that
lands between the two makes the kept sums stale at once, never stale sums current.

The count's row is locked by the writer until it commits: writers of past-dated facts (a few
per hour in a busy district) wait for each other, no other writer does.
"""

import importlib
import re

from alembic import op

revision = "0038_eval_settled"
down_revision = "0037_eval_as_of"

_M27 = importlib.import_module("migrations.versions.0027_evaluation_rollup")
_M28 = importlib.import_module("migrations.versions.0028_eval_fast")

TZ = _M27.BUCKET_TZ
# A fact, as compared before and after (every column of eval_facts but its row id)
_FACT = _M27.FACT_COLS
# The facts added or taken away, dated before today's local midnight: the count raised.
_SETTLED = f"""settled AS (
        UPDATE eval_settled SET changes = changes + 1
        WHERE EXISTS (
            SELECT 1 FROM (
                (SELECT {_FACT} FROM ins EXCEPT ALL SELECT {_FACT} FROM old)
                UNION ALL
                (SELECT {_FACT} FROM old EXCEPT ALL SELECT {_FACT} FROM ins)
            ) d
            WHERE d.at < date_trunc('day', clock_timestamp() AT TIME ZONE '{TZ}')
                         AT TIME ZONE '{TZ}'
        )
    ),
    roll_dept AS ("""  # noqa: S608 (constants only)
assert _M27.FACTS_FUNCTION.count("roll_dept AS (") == 1
FACTS_FUNCTION = _M28._two_paths(
    "gridgov_eval_facts",
    _M28._statements(_M27.FACTS_FUNCTION.replace("roll_dept AS (", _SETTLED, 1)),
)
assert re.search(r"\bsettled AS", FACTS_FUNCTION)


def upgrade() -> None:
    op.execute(
        "CREATE TABLE eval_settled (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "changes bigint NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO eval_settled DEFAULT VALUES")
    op.execute(FACTS_FUNCTION)


def downgrade() -> None:
    op.execute(_M28.FACTS_FUNCTION)
    op.execute("DROP TABLE eval_settled")
