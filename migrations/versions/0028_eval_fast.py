"""Evaluation triggers: batches planned for their size, no work for events that change no fact.

A boundary edit that re-assigns 5,000 open incidents (one UPDATE of `incidents` and one INSERT of
`reassign` events) made both triggers of 0027 recompute the facts of the same 5,000 incidents,
with plans cached for one incident (the pool forces generic plans: 17 s for the refresh alone).
Now (docs/performance.md, "2026-12-05 (afternoon)"):

- an event no fact depends on (accept, escalate, urge, reassign, acknowledge, add_info,
  request_extension…; only the actions of FACT_ACTIONS enter the facts of 0020 and 0027) only
  moves its incident's `last_at` (what the evaluation needs to know that its log goes on);
- a change of an incident's category or areas moves its stored facts, handling times and open
  case to the new groups with one set-based statement (old rows out of the rollups, the same rows
  with the new groups in), instead of recomputing them from the log;
- `gridgov_eval_refresh` and `gridgov_eval_facts` over more than BATCH incidents run their
  statements with EXECUTE, so they are planned for the batch at hand (a single event keeps its
  cached plan).
"""

import importlib
import re

from alembic import op

revision = "0028_eval_fast"
down_revision = "0027_evaluation_rollup"

# the function texts and rollup statements of the two migrations this one changes
_M20 = importlib.import_module("migrations.versions.0020_evaluation_facts")
_M27 = importlib.import_module("migrations.versions.0027_evaluation_rollup")

# More incidents than this: the statements are planned for the batch (EXECUTE … USING).
BATCH = 50
# The actions the facts of 0020 (gridgov_eval_refresh) and 0027 (NEW_FACTS) read; any other
# event changes only the incident's last event time.
FACT_ACTIONS = (
    "report",
    "register",
    "reject",
    "dispatch",
    "approve_extension",
    "reopen",
    "suspend",
    "return",
    "self_handle",
    "handle",
    "verify",
)
KEYS = _M27.KEYS
INCIDENT_COLUMNS = {
    "category": "category_code",
    "district": "district_code",
    "street": "street_code",
    "community": "community_code",
    "grid": "grid_code",
    "responsible": "responsible_area_code",
}


def _statements(function_sql: str) -> list[str]:
    """The statements of a plpgsql function of 0020/0027 (after its guard, if it has one)."""
    body = function_sql.split("BEGIN\n", 1)[1].rsplit("END $$", 1)[0]
    body = body.split("END IF;", 1)[1] if "END IF;" in body else body
    return [s.strip() for s in re.split(r";\s*\n", body) if s.strip()]


def _two_paths(name: str, statements: list[str]) -> str:
    """The function `name(ids)`: its statements as they are for a few incidents, EXECUTEd (planned
    with the batch's ids) for more than BATCH."""
    batch = []
    for s in statements:
        dynamic = s.replace("ANY(ids)", "ANY($1)")
        assert re.search(r"\bids\b", dynamic) is None and "$q$" not in dynamic, name
        batch.append(f"EXECUTE $q${dynamic}$q$ USING ids;")
    return (
        f"CREATE OR REPLACE FUNCTION {name}(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    IF cardinality(ids) = 0 THEN\n        RETURN;\n    END IF;\n"
        f"    IF cardinality(ids) > {BATCH} THEN\n"
        + "\n".join(batch)
        + "\n        RETURN;\n    END IF;\n"
        + ";\n".join(statements)
        + ";\nEND $$"
    )


REFRESH_FUNCTION = _two_paths("gridgov_eval_refresh", _statements(_M20.REFRESH))
FACTS_FUNCTION = _two_paths("gridgov_eval_facts", _statements(_M27.FACTS_FUNCTION))

_ACTIONS = ", ".join(f"'{a}'" for a in FACT_ACTIONS)
EVENTS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridgov_eval_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
{_M20.NEW_REPORTS}        PERFORM gridgov_eval_facts(ARRAY(SELECT DISTINCT incident_id FROM new_rows));
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows WHERE action NOT IN ({_ACTIONS})) THEN
        -- incidents with facts and only events no fact reads: a later last event, no more
        WITH later AS (
            UPDATE eval_incidents f SET last_at = greatest(f.last_at, n.at)
            FROM (SELECT incident_id, max(at) AS at FROM new_rows GROUP BY incident_id
                  HAVING bool_and(action NOT IN ({_ACTIONS}))) n
            WHERE f.incident_id = n.incident_id
            RETURNING f.incident_id
        )
        -- the others are recomputed from their log
        SELECT ARRAY(SELECT incident_id FROM new_rows EXCEPT SELECT incident_id FROM later)
        INTO ids;
    ELSE
        ids := ARRAY(SELECT DISTINCT incident_id FROM new_rows);
    END IF;
    PERFORM gridgov_eval_refresh(ids);
    PERFORM gridgov_eval_facts(ids);
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

_CHANGED = (
    "(n.category_code, n.district_code, n.street_code, n.community_code, n.grid_code, "
    "n.responsible_area_code) IS DISTINCT FROM (o.category_code, o.district_code, "
    "o.street_code, o.community_code, o.grid_code, o.responsible_area_code)"
)
# The columns each table keeps besides the groups (migration 0027).
KEPT = {
    "eval_facts": ("incident_id", "m", "at", "at2", "dept", "secs"),
    "eval_times": ("incident_id", "at", "secs", "dept"),
    "eval_open": ("incident_id", "reported_at", "due", "dept"),
}
_NEW = ", ".join(f"mv.{k} AS new_{k}" for k in KEYS)


def _moved(table: str, old: str) -> str:
    """The rows of `table` of the moved incidents out (CTE `old`, with the new groups as new_*),
    and in again with the new groups: a DELETE and an INSERT, cheaper than updating rows spread
    over the table."""
    cols = ", ".join((*KEPT[table], *KEYS))
    values = ", ".join((*KEPT[table], *(f"new_{k}" for k in KEYS)))
    return f"""{old} AS (
    DELETE FROM {table} x USING mv WHERE x.incident_id = ANY($1) AND x.incident_id = mv.id
    RETURNING x.*, {_NEW}
),
{old}_in AS (INSERT INTO {table} ({cols}) SELECT {values} FROM {old})"""  # noqa: S608


def _delta(table: str) -> str:
    """The facts whose groups in rollup `table` changed, out as they were and in as they are,
    summed per fact, local day and group first (the upsert's sixteen sums then read a few
    thousand rows, not one per fact); `at` is the local day's midnight."""
    keys = _M27.ROLLUPS[table]
    moving = [k for k in keys if k in KEYS]  # the department never moves
    moved = f"({', '.join(moving)}) IS DISTINCT FROM ({', '.join('new_' + k for k in moving)})"
    day = f"date_trunc('day', at AT TIME ZONE '{_M27.BUCKET_TZ}') AT TIME ZONE '{_M27.BUCKET_TZ}'"
    new = ", ".join(f"new_{k} AS {k}" if k in KEYS else k for k in keys)
    return f"""{table}_delta AS (
    SELECT m, {day} AS at, {", ".join(keys)}, sum(s)::int AS s FROM (
        SELECT m, at, {new}, 1 AS s FROM old WHERE m = ANY(%(rolled)s) AND {moved}
        UNION ALL
        SELECT m, at, {", ".join(keys)}, -1 FROM old WHERE m = ANY(%(rolled)s) AND {moved}
    ) d GROUP BY 1, 2, {", ".join(str(n + 3) for n in range(len(keys)))}
)"""  # noqa: S608 (constants only)


def _upsert(table: str) -> str:
    return _M27._rollup_upsert(table, _M27.ROLLUPS[table]).replace(
        "FROM delta d", f"FROM {table}_delta d"
    )


_ROLLED = "ARRAY[" + ", ".join(f"'{m}'" for m in _M27.ROLLED) + "]"
# One statement over the moved incidents ($1): their stored facts, handling times and open case
# take their new groups; a rollup loses the facts whose groups in it changed, as they were, and
# gains them as they are now (the delta of 0027's upsert).
MOVE_SQL = f"""
WITH mv AS MATERIALIZED (
    SELECT n.id, {", ".join(f"n.{c} AS {k}" for k, c in INCIDENT_COLUMNS.items())}
    FROM new_rows n WHERE n.id = ANY($1)
),
{_moved("eval_facts", "old")},
{_moved("eval_times", "times")},
{_moved("eval_open", "open")},
{_delta("eval_roll_dept")},
{_delta("eval_roll_area")},
roll_dept AS ({_upsert("eval_roll_dept")})
{_upsert("eval_roll_area")}
""".replace("%(rolled)s", _ROLLED)  # noqa: S608 (constants only)
assert "$q$" not in MOVE_SQL
INCIDENT_KEYS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridgov_eval_incident_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    ids := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_CHANGED});
    IF cardinality(ids) > 0 THEN
        -- planned for the rows at hand (a status change moves none, an edit thousands)
        EXECUTE $q${MOVE_SQL}$q$ USING ids;
    END IF;
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)


def _replace(create_sql: str) -> str:
    return create_sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(REFRESH_FUNCTION)
    op.execute(FACTS_FUNCTION)
    op.execute(EVENTS_FUNCTION)
    op.execute(INCIDENT_KEYS_FUNCTION)


def downgrade() -> None:
    op.execute(_replace(_M27.INCIDENT_KEYS_FUNCTION))
    op.execute(_M27.EVENTS_FUNCTION)
    op.execute(_replace(_M27.FACTS_FUNCTION))
    op.execute(_replace(_M20.REFRESH))
