"""What an incident's stored facts need to be read as of a past T: its log's order, its deadlines.

The evaluation reads the facts of an incident live at a period's end T (an event a fact reads at
or after T) from its log, event by event: at 1,000,000 cases that log path was most of a
department's 30-day trend with nothing kept (≈ 300 of 450 ms; docs/performance.md, 2026-12-07).

When the events its facts read were logged in time order (each at or after the one before it),
the log up to T is a first part of the whole log, and the facts up to T are the stored facts of
the whole log with what happened at or after T taken away — except the deadline in force at T,
which a later mark (a dispatch, an extension, a suspension…) replaced. So `eval_incidents` keeps:

- `ordered`: the events facts read are in time order (a back-dated event makes it false; such an
  incident is still read from its log);
- `last_mark_at`, `last_due`: the time of the last deadline mark and the deadline it left (the
  deadline in force at any T after it; before it, the log is asked for the mark before T);
- `reworked_at`: the first failed verification (a case is reworked at T when that is before T).

`gridgov_eval_refresh` computes them with the other facts; existing rows are filled here.
"""

import importlib

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, col

revision = "0037_eval_as_of"
down_revision = "0036_eval_bucket_cache"

_M20 = importlib.import_module("migrations.versions.0020_evaluation_facts")
_M28 = importlib.import_module("migrations.versions.0028_eval_fast")
_FACTS = ", ".join(f"'{a}'" for a in _M28.FACT_ACTIONS)


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# 0020's refresh, computing the four columns too: `hi`, the latest time of the fact events so far
# (the current one included), equals each one's own time when they are in time order.
REFRESH = _M20.REFRESH
for _old, _new in (
    (
        "count(*) FILTER (WHERE x.action = 'handle') OVER w AS hn\n",
        "count(*) FILTER (WHERE x.action = 'handle') OVER w AS hn,\n"
        "               max(x.at) FILTER (WHERE x.is_fact) OVER w AS hi\n",
    ),
    (
        "AS passed\n            FROM incident_events e",
        f"AS passed,\n                   e.action IN ({_FACTS}) AS is_fact\n"
        "            FROM incident_events e",
    ),
    (
        "count(*) FILTER (WHERE NOT passed) AS reworks\n",
        "count(*) FILTER (WHERE NOT passed) AS reworks,\n"
        "               min(at) FILTER (WHERE NOT passed) AS reworked_at,\n"
        "               max(at) FILTER (WHERE is_mark) AS last_mark_at,\n"
        "               coalesce(bool_and(at = hi) FILTER (WHERE is_fact), true) AS ordered\n",
    ),
    (
        "CASE WHEN b.action = 'dispatch' THEN b.dept END\n        FROM life l\n",
        "CASE WHEN b.action = 'dispatch' THEN b.dept END,\n"
        "               l.ordered, l.last_mark_at, lm.due, l.reworked_at\n"
        "        FROM life l\n"
        "        LEFT JOIN marks lm ON lm.incident_id = l.incident_id AND lm.mk = l.mk\n",
    ),
):
    REFRESH = _edit(REFRESH, _old, _new)
REFRESH_FUNCTION = _M28._two_paths("gridgov_eval_refresh", _M28._statements(REFRESH))

# The existing incidents' columns, from their logs as the refresh computes them.
FILL = f"""
UPDATE eval_incidents f
SET ordered = x.ordered, last_mark_at = x.last_mark_at, last_due = x.last_due,
    reworked_at = x.reworked_at
FROM (
    SELECT incident_id,
           coalesce(bool_and(at = hi) FILTER (WHERE is_fact), true) AS ordered,
           max(at) FILTER (WHERE is_mark) AS last_mark_at,
           (array_agg(due ORDER BY id DESC) FILTER (WHERE is_mark))[1] AS last_due,
           min(at) FILTER (WHERE passed IS false) AS reworked_at
    FROM (
        SELECT e.incident_id, e.id, e.at, e.action IN ({_FACTS}) AS is_fact,
               e.action IN ('dispatch', 'approve_extension', 'reopen', 'suspend', 'return',
                            'self_handle') AS is_mark,
               CASE WHEN e.action IN ('dispatch', 'approve_extension', 'reopen')
                    THEN (e.data ->> 'due_at')::timestamptz END AS due,
               CASE WHEN e.action = 'verify' THEN e.data ->> 'passed' = 'true' END AS passed,
               max(e.at) FILTER (WHERE e.action IN ({_FACTS})) OVER (
                   PARTITION BY e.incident_id ORDER BY e.id ROWS UNBOUNDED PRECEDING) AS hi
        FROM incident_events e
    ) e
    GROUP BY incident_id
) x
WHERE x.incident_id = f.incident_id
"""  # noqa: S608 (constants only)

COLUMNS = (
    col(
        "ordered",
        sa.Boolean(),
        "the events facts read are in time order",
        nullable=False,
        server_default=sa.text("true"),
    ),
    col("last_mark_at", TS, "time of the last deadline mark"),
    col("last_due", TS, "deadline the last mark left"),
    col("reworked_at", TS, "first failed verification"),
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("eval_incidents", column)
    op.execute(REFRESH_FUNCTION)
    op.execute(FILL)
    # every row was rewritten: the range index the live incidents are found by, rebuilt (left as
    # the update made it, twice its size, it made a department's trend ≈ 100 ms slower)
    op.execute("REINDEX INDEX ix_eval_incidents_span")
    op.execute("REINDEX INDEX pk_eval_incidents")
    op.execute("ANALYZE eval_incidents")


def downgrade() -> None:
    op.execute(_M28.REFRESH_FUNCTION)
    for column in reversed(COLUMNS):
        op.drop_column("eval_incidents", column.name)
