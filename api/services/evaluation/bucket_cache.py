"""A trend's past buckets, kept (migration 0036): read once, then from `eval_bucket_cache`.

A bucket's figures are those of the log up to its end (docs/metrics.md), so once it has ended
what happens next cannot change them — except what `eval_stale.generation` counts: a row dated
in the past, a re-keyed incident, a write to whistles, check-ins, categories, departments or
areas (the triggers of migration 0036). A bucket is kept with the generation read *before* its
figures, and used only while that generation is the current one: a write that lands between the
two makes the kept row stale at once, never a stale row current.

Kept are the buckets that ended at least KEEP_AFTER ago (a write's transaction dates its rows
at its start: the hour leaves it time to commit). The fingerprint names what else the figures
depend on: this package's code, the schema's revision (the triggers that keep the facts), the
grouping and the viewer's scope. A trend read on a replica reads the kept buckets there (they
are replicated with the generation) and keeps new ones on a connection of the primary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from api.db.at_once import Spare

KEEP_AFTER = dt.timedelta(hours=1)
# Kept buckets are forgotten this long after they were kept (read again, they are kept again):
# a period from a time of day keeps a first bucket no other period shares, and a group whose
# trend is not read again keeps its rows of an old generation; without this the table would
# grow with every such read. The trend warmer forgets at each turn; with it off
# (GRIDGOV_TREND_WARM_S=0) a process forgets when it keeps, at most every FORGET_EVERY.
FORGET_AFTER = dt.timedelta(days=35)
FORGET_EVERY = dt.timedelta(hours=1)
_forgot_at: list[dt.datetime] = []  # this process's last forgetting (monotonic enough: UTC)

# the evaluation's own code: a new definition of a figure is a new fingerprint
_CODE = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
).hexdigest()

_STATE_SQL = """
SELECT s.generation, pg_is_in_recovery() AS replica,
       (SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version) AS schema,
       -- which database, and which version of its one row (a restored or recreated database
       -- may count its generations again from where another left off)
       (SELECT oid FROM pg_database WHERE datname = current_database())::text || ':'
           || s.xmin::text AS origin
FROM eval_stale s
"""
_READ_SQL = """
SELECT t_from, t_end, figures FROM eval_bucket_cache
WHERE fingerprint = %(fp)s AND key = %(key)s AND generation = %(generation)s
  AND (t_from, t_end) IN (SELECT * FROM unnest(%(t_from)s::timestamptz[], %(t_end)s::timestamptz[]))
"""
_KEEP_SQL = """
INSERT INTO eval_bucket_cache AS k (fingerprint, key, t_from, t_end, generation, figures)
VALUES (%(fp)s, %(key)s, %(t_from)s, %(t_end)s, %(generation)s, %(figures)s)
ON CONFLICT (fingerprint, key, t_from, t_end) DO UPDATE
SET generation = excluded.generation, figures = excluded.figures, kept_at = now()
WHERE k.generation <= excluded.generation
"""
# the group's rows of earlier generations: dead, and never read again
_FORGET_SQL = """
DELETE FROM eval_bucket_cache
WHERE fingerprint = %(fp)s AND key = %(key)s AND generation < %(generation)s
"""


_FORGET_OLD_SQL = "DELETE FROM eval_bucket_cache WHERE kept_at < now() - %s::interval"
# The changes to past days' facts are logged this long (migration 0038): what a process keeps
# of a period's settled sums is read again well before (sums_kept.READ_AGAIN_AFTER)
SETTLED_LOG_DAYS = dt.timedelta(days=2)
_FORGET_LOG_SQL = "DELETE FROM eval_settled_log WHERE logged_at < now() - %s::interval"


def forget_old(conn: Connection[Any]) -> int:
    """Forget the buckets kept over FORGET_AFTER ago (one scan of the table; it holds a few
    rows per group and day read), and the changes to past days logged over SETTLED_LOG_DAYS
    ago (through their index); how many buckets."""
    with conn.cursor() as cur:
        cur.execute(_FORGET_LOG_SQL, (SETTLED_LOG_DAYS,))
        cur.execute(_FORGET_OLD_SQL, (FORGET_AFTER,))
        _forgot_at[:] = [dt.datetime.now(dt.UTC)]
        return cur.rowcount


def forget_now_and_then(conn: Connection[Any]) -> None:
    """`forget_old`, at most every FORGET_EVERY in this process (on a primary's connection)."""
    if not _forgot_at or dt.datetime.now(dt.UTC) - _forgot_at[0] >= FORGET_EVERY:
        forget_old(conn)


@dataclass(frozen=True)
class Kept:
    """One trend's view of the kept buckets: its fingerprint, the generation read before any of
    its figures, and whether this connection may keep more (not on a replica)."""

    fingerprint: str
    generation: int
    writable: bool
    before: dt.datetime  # buckets ending at or before this are kept


@dataclass(frozen=True)
class State:
    """What decides whether something kept is still current, read before what is kept: the
    generation, the schema's revision, and (for what a process keeps in memory) which database
    and which version of its `eval_stale` row; and whether `conn` is a replica's."""

    generation: int
    schema: str
    origin: str
    replica: bool

    @property
    def current(self) -> tuple[int, str, str]:
        """What a value kept in a process holds of the State, the last part of its key
        (`keeper.Keeper`): all but whether it was read on a replica (a replica's generation is
        its primary's)."""
        return (self.generation, self.schema, self.origin)


def read_state(conn: Connection[Any]) -> State:
    """The database's State as `conn` sees it (one row; a replica's is the primary's)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_STATE_SQL).fetchone()
    assert row is not None
    return State(row["generation"], row["schema"], row["origin"], row["replica"])


def open_kept(conn: Connection[Any], grouping: tuple[Any, ...]) -> Kept:
    """The generation (read first: see the module's docstring) and the fingerprint of
    `grouping` (group_by, level, scope area, scope department)."""
    state = read_state(conn)
    generation, replica, schema = state.generation, state.replica, state.schema
    fingerprint = hashlib.sha256(json.dumps([_CODE, schema, *grouping]).encode()).hexdigest()
    before = dt.datetime.now(dt.UTC) - KEEP_AFTER
    return Kept(fingerprint, generation, not replica, before)


def read_kept(
    conn: Connection[Any], kept: Kept, key: str, spans: list[tuple[dt.datetime, dt.datetime]]
) -> dict[int, dict[str, Any] | None]:
    """The kept raw rows (None: nothing counts) of those `spans` that ended before
    `kept.before`, by their index; the others are not in it."""
    old = [(i, s) for i, s in enumerate(spans) if s[1] <= kept.before]
    if not old:
        return {}
    params = {
        "fp": kept.fingerprint,
        "key": key,
        "generation": kept.generation,
        "t_from": [s[0] for _, s in old],
        "t_end": [s[1] for _, s in old],
    }
    with conn.cursor(row_factory=dict_row) as cur:
        found = {(r["t_from"], r["t_end"]): r["figures"] for r in cur.execute(_READ_SQL, params)}
    return {i: found[s] for i, s in old if s in found}


def keep(
    conn: Connection[Any],
    kept: Kept,
    key: str,
    rows: list[tuple[tuple[dt.datetime, dt.datetime], dict[str, Any] | None]],
    primary: Spare | None = None,
) -> None:
    """Keep the raw rows of the spans that ended before `kept.before`: on `conn`, or where it
    is a replica's, on a connection from `primary` (None: none free at once; not kept)."""
    old = [(s, row) for s, row in rows if s[1] <= kept.before]
    if not old:
        return
    if kept.writable:
        _write(conn, kept, key, old)
    elif primary is not None:
        with primary() as writable:
            if writable is not None:
                _write(writable, kept, key, old)


def _write(
    conn: Connection[Any],
    kept: Kept,
    key: str,
    old: list[tuple[tuple[dt.datetime, dt.datetime], dict[str, Any] | None]],
) -> None:
    with conn.transaction(), conn.cursor() as cur:
        forget_now_and_then(conn)
        cur.execute(
            _FORGET_SQL, {"fp": kept.fingerprint, "key": key, "generation": kept.generation}
        )
        cur.executemany(
            _KEEP_SQL,
            [
                {
                    "fp": kept.fingerprint,
                    "key": key,
                    "t_from": t_from,
                    "t_end": t_end,
                    "generation": kept.generation,
                    "figures": None if row is None else Jsonb(row),
                }
                for (t_from, t_end), row in old
            ],
        )
