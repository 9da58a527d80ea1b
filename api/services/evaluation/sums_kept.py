"""The sums of a period's settled days, kept in the process (issue 13).

The statistics of a period up to now sum, per group, the rollups' rows of every day of it, the
repeats of handling and the cases open now (`rollup_read`, MAIN_SQL). The days before a local
midnight at least KEEP_AFTER ago, [from, S), sum the same rows at every read but for what
writes change on them since: a row dated back, a re-keyed incident, a write to categories,
departments or areas raise `eval_stale.generation` (migration 0036) and the period is read
again; an event now that adds or takes away a fact dated before today — a case closed after
its closing deadline, an extension approved after the deadline passed, a return — is logged in
`eval_settled_log` (migration 0038). So the sums of [from, S) are read once per
`bucket_cache.State`, with the snapshot they were read in, and kept here per grouping, scope and
period start; each read adds the changes logged by the transactions that snapshot did not see
(a few, through an index), and sums [S, T) — today's rows, its repeats, and the cases open now.

The parts add up to the whole: every column is a sum over the facts' times, and 处置数 is the
handling reports less the repeats, a repeat counted where its handling lies when the handling
before it is in the whole period (`repeat_from`). The open cases and the overdue are read at T
only, in the part after S. A kept period is read again after READ_AGAIN_AFTER, well within the
days the changes are logged (`bucket_cache.SETTLED_LOG_DAYS`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import add
from typing import Any, Protocol

from psycopg import Connection

from api.services.evaluation.bucket_cache import (
    SETTLED_LOG_DAYS,
    State,
    forget_now_and_then,
)
from api.services.evaluation.keeper import Keeper
from api.services.evaluation.times_kept import settled_end

# At most this many groups' rows kept, all periods together (≈ 0.5 kB each: a month by grid at
# 1,000,000 cases is 10,000 rows, ≈ 5 MB), and at most this many periods
MAX_KEPT_ROWS = 100_000
MAX_KEPT_PERIODS = 256
READ_AGAIN_AFTER = dt.timedelta(hours=6)
assert READ_AGAIN_AFTER * 4 <= SETTLED_LOG_DAYS

# MAIN_SQL's rows: (true, key, is the total, the sums…, the handling times: NULL)
SUMS = slice(3, -3)
TIMES = ["handling_n", "handling_avg_s", "handling_p90_s"]

Rows = tuple[list[str], list[Any]]  # MAIN_SQL's column names and rows


class Parts(Protocol):
    """How `rollup_read` reads the parts of a period, [a, b), as MAIN_SQL's rows."""

    def settled(self, conn: Connection[Any], a: dt.datetime, b: dt.datetime) -> tuple[Rows, str]:
        """Of days before S: no open case; with the snapshot they were read in."""

    def since(self, conn: Connection[Any], a: dt.datetime, b: dt.datetime, snapshot: str) -> Rows:
        """The changes to their facts logged by transactions `snapshot` did not see."""

    def until_now(self, conn: Connection[Any], a: dt.datetime, b: dt.datetime) -> Rows:
        """From S to T, with the cases open at T."""


@dataclass(frozen=True)
class Sums:
    """A settled part's rows by (key, is the total), their column names, the snapshot they were
    read in and when."""

    columns: list[str]
    rows: dict[tuple[Any, bool], tuple[Any, ...]]
    snapshot: str
    read_at: dt.datetime


KEPT: Keeper[Sums] = Keeper(lambda s: len(s.rows), MAX_KEPT_ROWS, MAX_KEPT_PERIODS)


def forget() -> None:
    """Forget every kept period (tests; a process keeps at most MAX_KEPT_ROWS)."""
    KEPT.forget()


def kept_sums(
    conn: Connection[Any],
    what: tuple[Any, ...],
    t_from: dt.datetime,
    t_end: dt.datetime,
    parts: Parts,
    state: State,
) -> Rows | None:
    """MAIN_SQL's columns and rows for [t_from, t_end), the settled days' sums kept: `what`
    names the grouping, scope and total the rows are of; `state`: the State read before
    anything of the period (a write after it makes what is kept stale at once). None when no
    day of the period is settled. Only for a period no incident has an event at or after T in
    (the stored facts are those of the log up to T)."""
    now = dt.datetime.now(dt.UTC)
    settled_at = settled_end(t_from, t_end, now)
    if settled_at is None:
        return None
    key = (*what, t_from, settled_at, state.current)
    sums = KEPT.recall(key)
    if sums is None or now - sums.read_at > READ_AGAIN_AFTER:
        if not state.replica:  # the log trimmed now and then, wherever settled days are read
            forget_now_and_then(conn)
        (columns, rows), snapshot = parts.settled(conn, t_from, settled_at)
        sums = Sums(columns, {(r[1], r[2]): tuple(r) for r in rows}, snapshot, now)
        KEPT.remember(key, sums)
        changed: list[Any] = []
    else:
        columns, changed = parts.since(conn, t_from, settled_at, sums.snapshot)
        assert columns == sums.columns
    columns, today = parts.until_now(conn, settled_at, t_end)
    assert columns == sums.columns and columns[SUMS.stop :] == TIMES
    return columns, added(sums.rows, [*changed, *today])


def added(
    kept: dict[tuple[Any, bool], tuple[Any, ...]], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows of the whole period: each group's kept sums and the rows of the other parts,
    added (a group in one part only: its row as it is); a group whose sums come to nothing is
    not shown, as MAIN_SQL shows none (a change took its last fact away)."""
    out = dict(kept)
    for row in rows:
        both = out.get((row[1], row[2]))
        if both is not None:
            try:
                sums = tuple(map(add, both[SUMS], row[SUMS]))
            except TypeError:  # a sum over no row is NULL (the total of nothing)
                sums = tuple(map(_plus, both[SUMS], row[SUMS]))
            row = (*row[: SUMS.start], *sums, *row[SUMS.stop :])
        out[(row[1], row[2])] = row
    return [r for r in out.values() if r[2] or any(r[SUMS])]


def _plus(a: Any, b: Any) -> Any:
    """a + b, NULL counting as nothing (NULL when both are)."""
    return b if a is None else a if b is None else a + b
