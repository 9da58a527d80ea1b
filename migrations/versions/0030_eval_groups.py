"""Evaluation facts without their groups: one group row per incident, so a move rewrites that row.

`eval_facts` carried each incident's groups (category, district, street, community, grid,
responsible area) on every fact, ≈ 9.5 rows per incident: a boundary edit re-assigning 5,011 open
incidents deleted and inserted 47,412 fact rows with their three indexes (≈ 0.35 s of the edit's
≈ 1.6 s of database CPU; docs/performance.md, "2026-12-05 (night)"). Now the groups of an incident
are stored once, in `eval_groups` (the groups its facts are counted under in the rollups), and the
facts are read joined to it. A change of groups updates 5,011 `eval_groups` rows and moves the
rollups as before (the facts are read, not written); the handling times and open cases keep their
groups (the p90 per group reads `eval_times` in (group, secs) order, migration 0029) and move as
before.

Invariant: an incident's `eval_groups` row holds the groups its `eval_facts` rows are summed under
in `eval_roll_dept` / `eval_roll_area`. `gridgov_eval_facts` takes the old facts out under those
groups and puts the new ones in under the incident's current groups, then stores these;
`gridgov_eval_incident_keys` moves the sums from the stored groups to the new ones and stores
the new ones.

Revision ID: 0030_eval_groups
Revises: 0029_eval_times_order
Create Date: 2026-12-05 16:00:00
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_eval_groups"
down_revision: str | tuple[str, ...] | None = "0029_eval_times_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_M27 = importlib.import_module("migrations.versions.0027_evaluation_rollup")
_M28 = importlib.import_module("migrations.versions.0028_eval_fast")
_M29 = importlib.import_module("migrations.versions.0029_eval_times_order")

KEYS = _M27.KEYS
_KEYS = ", ".join(KEYS)
# the incident columns of each group (0028)
_INCIDENT_KEYS = ", ".join(f"i.{c}" for c in _M28.INCIDENT_COLUMNS.values())
FACT_COLS = "incident_id, m, at, at2, dept, secs"
REPEAT_INCLUDE = ("at2", "dept", "incident_id")

# 0027's function with the facts stored without groups: the old facts leave the rollups under the
# stored groups (eval_groups as the statement found it), the new ones enter under the incident's
# groups (NEW_FACTS joins `incidents`), which are then stored.
FACTS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridgov_eval_facts(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM eval_times WHERE incident_id = ANY(ids);
    DELETE FROM eval_open WHERE incident_id = ANY(ids);
    WITH nf AS MATERIALIZED ({_M27.NEW_FACTS}),
    times AS (
        INSERT INTO eval_times (incident_id, at, secs, dept, {_KEYS})
        SELECT incident_id, at, secs, dept, {_KEYS} FROM nf WHERE m = 'timing'
    ),
    open AS (
        INSERT INTO eval_open (incident_id, reported_at, due, dept, {_KEYS})
        SELECT incident_id, at, at2, dept, {_KEYS} FROM nf WHERE m = 'open'
    ),
    old AS (
        DELETE FROM eval_facts x WHERE x.incident_id = ANY(ids)
        RETURNING x.incident_id, x.m, x.at, x.dept
    ),
    ins AS (
        INSERT INTO eval_facts ({FACT_COLS})
        SELECT {FACT_COLS} FROM nf WHERE m NOT IN ('timing', 'open')
    ),
    groups AS (
        INSERT INTO eval_groups AS g (incident_id, {_KEYS})
        SELECT i.id, {_INCIDENT_KEYS} FROM incidents i WHERE i.id = ANY(ids)
        ON CONFLICT ON CONSTRAINT pk_eval_groups DO UPDATE SET ({_KEYS}) =
            ({", ".join(f"excluded.{k}" for k in KEYS)})
        WHERE ({", ".join(f"g.{k}" for k in KEYS)}) IS DISTINCT FROM
              ({", ".join(f"excluded.{k}" for k in KEYS)})
    ),
    delta AS (
        SELECT m, at, dept, {_KEYS}, 1 AS s FROM nf WHERE m NOT IN ('timing', 'open')
        UNION ALL
        SELECT o.m, o.at, o.dept, {", ".join(f"g.{k}" for k in KEYS)}, -1
        FROM old o LEFT JOIN eval_groups g ON g.incident_id = o.incident_id
    ),
    roll_dept AS ({_M27._rollup_upsert("eval_roll_dept", _M27.ROLLUPS["eval_roll_dept"])})
    {_M27._rollup_upsert("eval_roll_area", _M27.ROLLUPS["eval_roll_area"])};
END $$
"""  # noqa: S608 (constants only)
FACTS_FUNCTION_BATCHED = _M28._two_paths("gridgov_eval_facts", _M28._statements(FACTS_FUNCTION))

_TZ = _M27.BUCKET_TZ
# a fact's local day (its midnight), the rollups' day bucket
_DAY = f"date_trunc('day', x.at AT TIME ZONE '{_TZ}') AT TIME ZONE '{_TZ}'"


def _delta(table: str) -> str:
    """0028's delta of one rollup, from `old` whose `at` is already the local day: the facts whose
    groups in `table` changed are counted per fact, day and (old, new) groups once, then leave
    the old groups and reach the new ones."""
    keys = _M27.ROLLUPS[table]
    moving = [k for k in keys if k in KEYS]  # the department never moves
    moved = f"({', '.join(moving)}) IS DISTINCT FROM ({', '.join('new_' + k for k in moving)})"
    new = ", ".join(f"new_{k} AS {k}" if k in KEYS else k for k in keys)
    both = ", ".join((*keys, *(f"new_{k}" for k in moving)))
    return f"""{table}_moved AS (
    SELECT m, at, {both}, count(*)::int AS n FROM old WHERE {moved} GROUP BY m, at, {both}
),
{table}_delta AS (
    SELECT m, at, {", ".join(keys)}, sum(s)::int AS s FROM (
        SELECT m, at, {new}, n AS s FROM {table}_moved
        UNION ALL
        SELECT m, at, {", ".join(keys)}, -n FROM {table}_moved
    ) d GROUP BY 1, 2, {", ".join(str(n + 3) for n in range(len(keys)))}
)"""  # noqa: S608 (constants only)


# 0028's move with the facts read, not rewritten: `old` is each moved incident's facts with the
# stored groups and the new ones (new_*), the shape 0028's rollup deltas read.
MOVE_SQL = f"""
WITH mv AS MATERIALIZED (
    SELECT n.id, {", ".join(f"n.{c} AS {k}" for k, c in _M28.INCIDENT_COLUMNS.items())}
    FROM new_rows n WHERE n.id = ANY($1)
),
old AS MATERIALIZED (
    SELECT x.m, {_DAY} AS at, x.dept, {", ".join(f"g.{k}" for k in KEYS)},
           {", ".join(f"mv.{k} AS new_{k}" for k in KEYS)}
    FROM eval_facts x
    JOIN eval_groups g ON g.incident_id = x.incident_id
    JOIN mv ON mv.id = x.incident_id
    WHERE x.incident_id = ANY($1) AND g.incident_id = ANY($1) AND x.m = ANY(%(rolled)s)
),
groups AS (
    UPDATE eval_groups g SET ({_KEYS}) = ({", ".join(f"mv.{k}" for k in KEYS)})
    FROM mv WHERE g.incident_id = ANY($1) AND g.incident_id = mv.id
),
{_M28._moved("eval_times", "times")},
{_M28._moved("eval_open", "open")},
{_delta("eval_roll_dept")},
{_delta("eval_roll_area")},
roll_dept AS ({_M28._upsert("eval_roll_dept")})
{_M28._upsert("eval_roll_area")}
""".replace("%(rolled)s", _M28._ROLLED)  # noqa: S608 (constants only)
assert "$q$" not in MOVE_SQL
INCIDENT_KEYS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridgov_eval_incident_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    ids := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE {_M28._CHANGED});
    IF cardinality(ids) > 0 THEN
        -- planned for the rows at hand (a status change moves none, an edit thousands)
        EXECUTE $q${MOVE_SQL}$q$ USING ids;
    END IF;
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "eval_groups",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        *[sa.Column(k, sa.Text(), nullable=True) for k in KEYS],
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_eval_groups")),
        comment="the groups an incident's eval_facts are summed under in the rollups",
    )
    # the groups the facts were stored (and summed) with: one row per incident
    op.execute(
        f"INSERT INTO eval_groups (incident_id, {_KEYS}) "
        f"SELECT DISTINCT ON (incident_id) incident_id, {_KEYS} FROM eval_facts "
        "ORDER BY incident_id"
    )
    op.drop_index(
        "ix_eval_facts_repeats", table_name="eval_facts", postgresql_where=sa.text(_M29.REPEATS)
    )
    for k in KEYS:
        op.drop_column("eval_facts", k)
    op.create_index(
        "ix_eval_facts_repeats",
        "eval_facts",
        ["m", "at"],
        postgresql_include=list(REPEAT_INCLUDE),
        postgresql_where=sa.text(_M29.REPEATS),
    )
    op.execute(FACTS_FUNCTION_BATCHED)
    op.execute(INCIDENT_KEYS_FUNCTION)
    op.execute("ANALYZE eval_groups, eval_facts")


def downgrade() -> None:
    op.execute(_M28.INCIDENT_KEYS_FUNCTION)
    op.execute(_M28.FACTS_FUNCTION)
    op.drop_index(
        "ix_eval_facts_repeats", table_name="eval_facts", postgresql_where=sa.text(_M29.REPEATS)
    )
    for k in KEYS:
        op.add_column("eval_facts", sa.Column(k, sa.Text(), nullable=True))
    op.execute(
        f"UPDATE eval_facts f SET ({_KEYS}) = ({', '.join(f'g.{k}' for k in KEYS)}) "
        "FROM eval_groups g WHERE g.incident_id = f.incident_id"
    )
    op.create_index(
        "ix_eval_facts_repeats",
        "eval_facts",
        ["m", "at"],
        postgresql_include=list(_M29.REPEAT_INCLUDE),
        postgresql_where=sa.text(_M29.REPEATS),
    )
    op.drop_table("eval_groups")
