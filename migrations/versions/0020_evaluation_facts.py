"""Evaluation facts: what each incident's log means for docs/metrics.md, kept current per event.

A statement-level trigger on `incident_events` recomputes, in the same transaction, the facts of
the incidents the statement touched from their whole log (one window pass over their events):
one row per incident (eval_incidents), per dispatch episode (eval_episodes) and per handling
report (eval_handles). The evaluation reads these instead of the log for every incident whose
last event lies before the end of observation (docs/performance.md, "A year of a city").
"""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, create_index, drop_index, pk

revision = "0020_evaluation_facts"
down_revision = "0004_workflow"


# The same numbering as api/services/evaluation/query.py, over the whole log of the given incidents:
# mk = deadline marks so far, ep = episode bounds so far, hn = handling reports so far.
REFRESH = """
CREATE FUNCTION gridgov_eval_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM eval_handles WHERE incident_id = ANY(ids);
    DELETE FROM eval_episodes WHERE incident_id = ANY(ids);
    DELETE FROM eval_incidents WHERE incident_id = ANY(ids);
    WITH ev AS MATERIALIZED (
        SELECT x.*,
               count(*) FILTER (WHERE x.is_mark) OVER w AS mk,
               count(*) FILTER (WHERE x.is_bound) OVER w AS ep,
               count(*) FILTER (WHERE x.action = 'handle') OVER w AS hn
        FROM (
            SELECT e.id, e.incident_id, e.at, e.action, e.department_code AS dept,
                   CASE WHEN e.action IN ('dispatch', 'approve_extension', 'reopen')
                        THEN (e.data ->> 'due_at')::timestamptz END AS due,
                   e.action IN ('dispatch', 'approve_extension', 'reopen', 'suspend', 'return',
                                'self_handle') AS is_mark,
                   e.action IN ('dispatch', 'return', 'self_handle') AS is_bound,
                   CASE WHEN e.action = 'verify' THEN e.data ->> 'passed' = 'true' END AS passed
            FROM incident_events e WHERE e.incident_id = ANY(ids)
        ) x
        WINDOW w AS (PARTITION BY x.incident_id ORDER BY x.id ROWS UNBOUNDED PRECEDING)
    ),
    marks AS MATERIALIZED (SELECT incident_id, mk, due FROM ev WHERE is_mark),
    bounds AS MATERIALIZED (
        SELECT incident_id, ep, at, action, dept, mk, hn FROM ev WHERE is_bound
    ),
    life AS MATERIALIZED (
        -- report, register, reject and the passing verification happen once per incident
        SELECT incident_id, max(at) AS last_at, max(mk) AS mk, max(ep) AS ep,
               min(at) FILTER (WHERE action = 'report') AS reported_at,
               (array_agg(dept ORDER BY id) FILTER (WHERE action = 'report'))[1] AS report_dept,
               min(at) FILTER (WHERE action = 'register') AS registered_at,
               (array_agg(dept ORDER BY id) FILTER (WHERE action = 'register'))[1]
                   AS register_dept,
               min(at) FILTER (WHERE action = 'reject') AS rejected_at,
               (array_agg(dept ORDER BY id) FILTER (WHERE action = 'reject'))[1] AS rejected_dept,
               min(at) FILTER (WHERE passed) AS closed_at,
               (array_agg(dept ORDER BY id) FILTER (WHERE passed))[1] AS closed_dept,
               min(mk) FILTER (WHERE passed) AS closed_mk,
               min(ep) FILTER (WHERE passed) AS closed_ep,
               count(*) FILTER (WHERE NOT passed) AS reworks
        FROM ev GROUP BY incident_id
    ),
    facts AS (
        INSERT INTO eval_incidents
        SELECT l.incident_id, l.last_at, l.reported_at, l.report_dept, l.registered_at,
               l.register_dept, l.rejected_at, l.rejected_dept, l.closed_at, l.closed_dept,
               l.reworks, m.due, CASE WHEN b.action = 'dispatch' THEN b.dept END
        FROM life l
        LEFT JOIN marks m ON m.incident_id = l.incident_id
             AND m.mk = coalesce(l.closed_mk, l.mk)
        LEFT JOIN bounds b ON b.incident_id = l.incident_id
             AND b.ep = coalesce(l.closed_ep, l.ep)
    ),
    episodes AS (
        INSERT INTO eval_episodes
        SELECT b.incident_id, b.ep, b.dept, b.at, nb.at, nb.action, nb.dept, h.at, m.due
        FROM bounds b
        LEFT JOIN ev h ON h.incident_id = b.incident_id AND h.action = 'handle'
             AND h.hn = b.hn + 1 AND h.ep = b.ep
        LEFT JOIN bounds nb ON nb.incident_id = b.incident_id AND nb.ep = b.ep + 1
        JOIN life l ON l.incident_id = b.incident_id
        LEFT JOIN marks m ON m.incident_id = b.incident_id
             AND m.mk = coalesce(h.mk, nb.mk - 1, l.mk)
        WHERE b.action = 'dispatch'
    )
    INSERT INTO eval_handles
    SELECT id, incident_id, at, dept FROM ev WHERE action IN ('handle', 'self_handle');
END $$
"""

# A statement of new reports only (each its incident's first event, the one intake writes): their
# facts need no log, written directly, so intake pays one small INSERT, not a refresh.
NEW_REPORTS = """\
    IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.action <> 'report'
                   OR EXISTS (SELECT 1 FROM eval_incidents f WHERE f.incident_id = n.incident_id))
       AND (SELECT count(*) = count(DISTINCT incident_id) FROM new_rows) THEN
        INSERT INTO eval_incidents (incident_id, last_at, reported_at, report_dept, reworks)
        SELECT incident_id, at, at, department_code, 0 FROM new_rows;
"""
TRIGGER_FUNCTION = f"""
CREATE FUNCTION gridgov_eval_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{NEW_REPORTS}    ELSE
        PERFORM gridgov_eval_refresh(ARRAY(SELECT DISTINCT incident_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

TRIGGER = """
CREATE TRIGGER incident_events_eval AFTER INSERT ON incident_events
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_events()
"""


def backfill(function: str, table: str, distinct: bool) -> str:
    """A DO block calling `function(ids)` for the incidents of `table`, 50,000 per statement."""
    ids = f"{'DISTINCT ' if distinct else ''}incident_id FROM {table}"
    return f"""
DO $$
DECLARE lo bigint := 0; top bigint;
BEGIN
    SELECT coalesce(max(incident_id), 0) INTO top FROM {table};
    WHILE lo <= top LOOP
        PERFORM {function}(ARRAY(
            SELECT {ids}
            WHERE incident_id > lo AND incident_id <= lo + 50000));
        lo := lo + 50000;
    END LOOP;
END $$
"""  # noqa: S608 (constants only)


# Existing logs.
BACKFILL = backfill("gridgov_eval_refresh", "incident_events", distinct=True)


def upgrade() -> None:
    op.create_table(
        "eval_incidents",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("last_at", TS, nullable=False, comment="time of the last event"),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("report_dept", sa.Text(), nullable=True),
        sa.Column("registered_at", TS, nullable=True),
        sa.Column("register_dept", sa.Text(), nullable=True),
        sa.Column("rejected_at", TS, nullable=True),
        sa.Column("rejected_dept", sa.Text(), nullable=True),
        sa.Column("closed_at", TS, nullable=True, comment="first passed verification"),
        sa.Column("closed_dept", sa.Text(), nullable=True),
        sa.Column("reworks", sa.Integer(), nullable=False),
        sa.Column("close_due", TS, nullable=True, comment="deadline in force before closing"),
        sa.Column("close_lead", sa.Text(), nullable=True, comment="lead of the last dispatch"),
        pk("eval_incidents", "incident_id"),
    )
    op.create_table(
        "eval_episodes",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("ep", sa.Integer(), nullable=False, comment="bounds counted up to its dispatch"),
        sa.Column("lead", sa.Text(), nullable=True),
        sa.Column("dispatched_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=True),
        sa.Column("end_action", sa.Text(), nullable=True),
        sa.Column("end_dept", sa.Text(), nullable=True),
        sa.Column("handled_at", TS, nullable=True, comment="first handling report"),
        sa.Column("due", TS, nullable=True, comment="deadline before handling, end or now"),
        pk("eval_episodes", "incident_id", "ep"),
    )
    op.create_table(
        "eval_handles",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("dept", sa.Text(), nullable=True),
        pk("eval_handles", "event_id"),
    )
    create_index("eval_handles", "incident_id")
    op.execute(REFRESH)
    op.execute(TRIGGER_FUNCTION)
    op.execute(TRIGGER)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_events_eval ON incident_events")
    op.execute("DROP FUNCTION gridgov_eval_events()")
    op.execute("DROP FUNCTION gridgov_eval_refresh(bigint[])")
    drop_index("eval_handles", "incident_id")
    op.drop_table("eval_handles")
    op.drop_table("eval_episodes")
    op.drop_table("eval_incidents")
