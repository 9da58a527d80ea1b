"""Evaluation rollup: facts with their times and groups, summed per day and month.

`eval_facts` holds every counted fact of docs/metrics.md that the stored facts of 0020 imply,
with the time it counts at and the incident's groups (category, areas); `eval_times` the handling
times, `eval_open` the open cases with their deadline. `gridgov_eval_facts(ids)` recomputes them
for the given incidents in the same transaction as each event (and each change of an incident's
category or areas, and each whistle check-in) and adds the difference to two rollups per local
day and per month: by department × category × district/street (eval_roll_dept) and by
area (eval_roll_area). The evaluation sums whole months and days from the rollups and reads only
the partial days at the edges, the repeats of handling, the times and the open cases exactly
(api/services/evaluation/rollup.py, docs/performance.md "2026-12-05").
"""

import importlib

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, create_index, create_partial_index, pk

revision = "0027_evaluation_rollup"
down_revision = ("0020_evaluation_facts", "0025_urge")

# the stored facts and the trigger function of the migration this one builds on
_M20 = importlib.import_module("migrations.versions.0020_evaluation_facts")
BUCKET_TZ = "Asia/Shanghai"
# Facts summed in the rollups (one column each); `handles` counts handling reports. A frozen
# copy of api/db/models_evaluation.ROLLED, on purpose: the revision must not follow later edits.
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
KEYS = ("category", "district", "street", "community", "grid", "responsible")
ROLLUPS = {
    "eval_roll_dept": ("dept", "category", "district", "street"),
    "eval_roll_area": ("district", "street", "community", "grid"),
}

# The facts of the given incidents, from their stored facts (0020) and the incident's groups.
NEW_FACTS = """
SELECT x.incident_id, x.m, x.at, x.at2, x.dept, i.category_code AS category,
       i.district_code AS district, i.street_code AS street, i.community_code AS community,
       i.grid_code AS grid, i.responsible_area_code AS responsible, x.secs
FROM (
    SELECT f.incident_id, v.m, v.at, NULL::timestamptz AS at2, v.dept, NULL::float8 AS secs
    FROM eval_incidents f
    CROSS JOIN LATERAL (SELECT CASE
        WHEN f.closed_at IS NOT NULL AND (f.close_due IS NULL OR f.closed_at <= f.close_due)
            THEN f.closed_at
        WHEN f.rejected_at IS NULL THEN f.close_due
    END AS s) s
    CROSS JOIN LATERAL (VALUES
        ('reported', f.reported_at, f.report_dept),
        ('registered', f.registered_at, f.register_dept),
        ('rejected', f.rejected_at, f.rejected_dept),
        ('closed', f.closed_at, f.closed_dept),
        ('close_due', s.s, f.close_lead),
        ('close_done', CASE WHEN f.closed_at IS NOT NULL THEN s.s END, f.close_lead),
        ('close_on_time', CASE WHEN s.s = f.closed_at THEN s.s END, f.close_lead),
        ('reworked', CASE WHEN f.reworks > 0 THEN s.s END, f.close_lead)
    ) v(m, at, dept)
    WHERE f.incident_id = ANY(ids) AND v.at IS NOT NULL
    UNION ALL
    SELECT f.incident_id, 'open', f.reported_at, f.close_due, f.close_lead, NULL
    FROM eval_incidents f
    WHERE f.incident_id = ANY(ids) AND f.closed_at IS NULL AND f.rejected_at IS NULL
    UNION ALL
    SELECT e.incident_id, v.m, v.at, NULL, e.lead, v.secs
    FROM eval_episodes e
    CROSS JOIN LATERAL (SELECT CASE
        WHEN e.due IS NULL THEN NULL
        WHEN e.handled_at IS NOT NULL AND e.handled_at <= e.due THEN e.handled_at
        WHEN e.end_at IS NULL OR e.end_at > e.due THEN e.due
    END AS s) s
    CROSS JOIN LATERAL (VALUES
        ('dispatched', e.dispatched_at, NULL::float8),
        ('handle_due', s.s, NULL),
        ('handle_on_time', CASE WHEN s.s = e.handled_at THEN s.s END, NULL),
        ('timing', e.handled_at, extract(epoch FROM e.handled_at - e.dispatched_at)::float8)
    ) v(m, at, secs)
    WHERE e.incident_id = ANY(ids) AND v.at IS NOT NULL
    UNION ALL
    -- every return, also one ending a self-handling (not a dispatch episode)
    SELECT e.incident_id, 'returned', e.at, NULL, e.department_code, NULL
    FROM incident_events e WHERE e.incident_id = ANY(ids) AND e.action = 'return'
    UNION ALL
    -- handling reports; a repeat carries the time of the incident's (department's) previous one
    SELECT h.incident_id, v.m, h.at, v.at2, h.dept, NULL
    FROM (
        SELECT h.*, lag(h.at) OVER (PARTITION BY h.incident_id ORDER BY h.event_id) AS prev,
               lag(h.at) OVER (PARTITION BY h.incident_id, h.dept ORDER BY h.event_id)
                   AS prev_dept
        FROM eval_handles h WHERE h.incident_id = ANY(ids)
    ) h
    CROSS JOIN LATERAL (VALUES ('handles', NULL::timestamptz), ('repeat', h.prev),
                               ('repeat_dept', h.prev_dept)) v(m, at2)
    WHERE v.m = 'handles' OR v.at2 IS NOT NULL
    UNION ALL
    SELECT w.incident_id, v.m, least(k.checked_in_at, w.deadline_at), NULL, k.department_code,
           NULL
    FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id
    CROSS JOIN LATERAL (VALUES ('checkin_due', true),
        ('checkin_on_time', k.checked_in_at IS NOT NULL AND k.checked_in_at <= w.deadline_at)
    ) v(m, yes)
    WHERE w.incident_id = ANY(ids) AND v.yes
) x JOIN incidents i ON i.id = x.incident_id
"""


def _rollup_upsert(table: str, keys: tuple[str, ...]) -> str:
    """INSERT … ON CONFLICT adding the day and month sums of `delta` to one rollup."""
    cols = ", ".join(keys)
    sums = ", ".join(f"coalesce(sum(s) FILTER (WHERE m = '{m}'), 0) AS {m}" for m in ROLLED)
    changed = " OR ".join(f"{m} <> 0" for m in ROLLED)
    updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in ROLLED)
    # built from this module's constants only
    return f"""
    INSERT INTO {table} AS r (grain, bucket, {cols}, {", ".join(ROLLED)})
    SELECT * FROM (
        SELECT g.grain, CASE g.grain WHEN 'd' THEN (d.at AT TIME ZONE '{BUCKET_TZ}')::date
               ELSE date_trunc('month', d.at AT TIME ZONE '{BUCKET_TZ}')::date END AS bucket,
               {", ".join("d." + k for k in keys)}, {sums}
        FROM delta d CROSS JOIN (VALUES ('d'), ('m')) g(grain)
        GROUP BY 1, 2, {", ".join(str(n + 3) for n in range(len(keys)))}
    ) x WHERE {changed}
    ORDER BY 1, 2, {", ".join(str(n + 3) for n in range(len(keys)))}
    ON CONFLICT ON CONSTRAINT uq_{table} DO UPDATE SET {updates}"""  # noqa: S608


FACT_COLS = "incident_id, m, at, at2, dept, " + ", ".join(KEYS) + ", secs"
FACTS_FUNCTION = f"""
CREATE FUNCTION gridgov_eval_facts(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM eval_times WHERE incident_id = ANY(ids);
    DELETE FROM eval_open WHERE incident_id = ANY(ids);
    WITH nf AS MATERIALIZED ({NEW_FACTS}),
    times AS (
        INSERT INTO eval_times (incident_id, at, secs, dept, {", ".join(KEYS)})
        SELECT incident_id, at, secs, dept, {", ".join(KEYS)} FROM nf WHERE m = 'timing'
    ),
    open AS (
        INSERT INTO eval_open (incident_id, reported_at, due, dept, {", ".join(KEYS)})
        SELECT incident_id, at, at2, dept, {", ".join(KEYS)} FROM nf WHERE m = 'open'
    ),
    old AS (DELETE FROM eval_facts WHERE incident_id = ANY(ids) RETURNING *),
    ins AS (
        INSERT INTO eval_facts ({FACT_COLS})
        SELECT {FACT_COLS} FROM nf WHERE m NOT IN ('timing', 'open')
        RETURNING *
    ),
    delta AS (
        SELECT m, at, dept, {", ".join(KEYS)}, 1 AS s FROM ins
        UNION ALL
        SELECT m, at, dept, {", ".join(KEYS)}, -1 FROM old
    ),
    roll_dept AS ({_rollup_upsert("eval_roll_dept", ROLLUPS["eval_roll_dept"])})
    {_rollup_upsert("eval_roll_area", ROLLUPS["eval_roll_area"])};
END $$
"""  # noqa: S608 (constants only)

# 0020's trigger function, now also keeping the facts and rollups current.
EVENTS_FUNCTION_0020 = _M20.TRIGGER_FUNCTION.replace("CREATE", "CREATE OR REPLACE", 1)
EVENTS_FUNCTION = EVENTS_FUNCTION_0020.replace(
    "    RETURN NULL;\n",
    "    PERFORM gridgov_eval_facts(ARRAY(SELECT DISTINCT incident_id FROM new_rows));\n"
    "    RETURN NULL;\n",
)

# A change of an incident's category or areas (re-classification, boundary edit) moves its facts.
INCIDENT_KEYS_FUNCTION = """
CREATE FUNCTION gridgov_eval_incident_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridgov_eval_facts(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.category_code, n.district_code, n.street_code, n.community_code, n.grid_code,
               n.responsible_area_code) IS DISTINCT FROM
              (o.category_code, o.district_code, o.street_code, o.community_code, o.grid_code,
               o.responsible_area_code)));
    RETURN NULL;
END $$
"""
CHECKINS_FUNCTION = """
CREATE FUNCTION gridgov_eval_checkins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridgov_eval_facts(ARRAY(
        SELECT DISTINCT w.incident_id FROM whistles w JOIN new_rows n ON n.whistle_id = w.id));
    RETURN NULL;
END $$
"""
TRIGGERS = {
    ("incidents_eval_keys", "incidents"): "AFTER UPDATE ON incidents REFERENCING OLD TABLE AS "
    "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridgov_eval_incident_keys()",
    ("whistle_checkins_eval_insert", "whistle_checkins"): "AFTER INSERT ON whistle_checkins "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_checkins()",
    ("whistle_checkins_eval_update", "whistle_checkins"): "AFTER UPDATE ON whistle_checkins "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_checkins()",
}

BACKFILL = _M20.backfill("gridgov_eval_facts", "eval_incidents", distinct=False)


def _key_columns() -> list[sa.Column[str]]:
    return [sa.Column(k, sa.Text(), nullable=True) for k in KEYS]


def upgrade() -> None:
    op.create_table(
        "eval_facts",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("m", sa.Text(), nullable=False, comment="what it counts (docs/metrics.md)"),
        sa.Column("at", TS, nullable=False, comment="when it counts"),
        sa.Column("at2", TS, nullable=True, comment="a repeat: the previous handling report"),
        sa.Column("dept", sa.Text(), nullable=True),
        *_key_columns(),
        sa.Column("secs", sa.Float(), nullable=True),
    )
    create_index("eval_facts", "incident_id")
    create_index("eval_facts", "m", "at")
    op.create_table(
        "eval_times",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False, comment="handled at"),
        sa.Column("secs", sa.Float(), nullable=False, comment="since the dispatch"),
        sa.Column("dept", sa.Text(), nullable=True),
        *_key_columns(),
    )
    create_index("eval_times", "incident_id")
    create_index("eval_times", "at")
    op.create_table(
        "eval_open",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("due", TS, nullable=True, comment="deadline in force"),
        sa.Column("dept", sa.Text(), nullable=True),
        *_key_columns(),
        pk("eval_open", "incident_id"),
    )
    for table, keys in ROLLUPS.items():
        op.create_table(
            table,
            sa.Column("grain", sa.Text(), nullable=False, comment="d: local day, m: month"),
            sa.Column("bucket", sa.Date(), nullable=False),
            *[sa.Column(k, sa.Text(), nullable=True) for k in keys],
            *[sa.Column(m, sa.Integer(), nullable=False) for m in ROLLED],
        )
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT uq_{table} UNIQUE NULLS NOT DISTINCT "
            f"(grain, bucket, {', '.join(keys)})"
        )
    # the evaluation reads the log of the incidents reported before T with an event at or after
    # it: a stabbing query on [reported_at, last_at]
    op.execute(
        "CREATE INDEX ix_eval_incidents_span ON eval_incidents "
        "USING gist (tstzrange(reported_at, last_at, '[]'))"
    )
    # 督办后结案数 reads the incidents closed in the period that were urged
    create_partial_index(
        "ix_incidents_urged_closed_at", "incidents", ["closed_at"], "urge_count > 0"
    )
    op.execute(FACTS_FUNCTION)
    op.execute(EVENTS_FUNCTION)
    op.execute(INCIDENT_KEYS_FUNCTION)
    op.execute(CHECKINS_FUNCTION)
    for (name, _table), body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(BACKFILL)
    # plans of the first evaluation must not wait for autovacuum to learn these tables
    op.execute("ANALYZE eval_incidents, eval_facts, eval_times, eval_open")
    op.execute(f"ANALYZE {', '.join(ROLLUPS)}")


def downgrade() -> None:
    for name, table in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute(EVENTS_FUNCTION_0020)
    op.execute("DROP FUNCTION gridgov_eval_checkins()")
    op.execute("DROP FUNCTION gridgov_eval_incident_keys()")
    op.execute("DROP FUNCTION gridgov_eval_facts(bigint[])")
    op.drop_index("ix_incidents_urged_closed_at", table_name="incidents")
    op.execute("DROP INDEX ix_eval_incidents_span")
    for table in ROLLUPS:
        op.drop_table(table)
    op.drop_table("eval_open")
    op.drop_table("eval_times")
    op.drop_table("eval_facts")
