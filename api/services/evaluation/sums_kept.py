"""The sums of a period's settled days, kept in the process (issue 13).

The statistics of a period up to now sum, per group, the rollups' rows of every day of it, the
repeats of handling and the cases open now (`rollup_read`, MAIN_SQL). The days before a local
midnight at least KEEP_AFTER ago, [from, S), sum the same rows at every read unless a write
changes a fact dated on one of them: a row dated back, a re-keyed incident, a write to
categories, departments or areas (they raise `eval_stale.generation`, migration 0036), or an
event now that adds or takes away a fact dated before today — an extension approved after the
deadline passed, a return (they raise `eval_settled.changes`, migration 0038). So the sums of
[from, S) are read once per `bucket_cache.State` (both counts, the schema, which database) and
kept here, per grouping, scope and period start; each read sums only [S, T) — today's rows,
its repeats, and the cases open now — and adds the kept sums to them.

The parts add up to the whole: every column is a sum over the facts' times, and 处置数 is the
handling reports less the repeats, a repeat counted where its handling lies when the handling
before it is in the whole period (`repeat_from`). The open cases and the overdue are read at T
only, in the part after S.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from operator import add
from typing import Any

from psycopg import Connection

from api.services.evaluation.bucket_cache import read_state
from api.services.evaluation.keeper import Keeper
from api.services.evaluation.times_kept import settled_end

# At most this many groups' rows kept, all periods together (≈ 0.5 kB each: a month by grid at
# 1,000,000 cases is 10,000 rows, ≈ 5 MB), and at most this many periods
MAX_KEPT_ROWS = 100_000
MAX_KEPT_PERIODS = 256

# MAIN_SQL's rows: (true, key, is the total, the sums…, the handling times: NULL)
SUMS = slice(3, -3)
TIMES = ["handling_n", "handling_avg_s", "handling_p90_s"]


@dataclass(frozen=True)
class Sums:
    """A settled part's rows by (key, is the total), and their column names."""

    columns: list[str]
    rows: dict[tuple[Any, bool], tuple[Any, ...]]


KEPT: Keeper[Sums] = Keeper(lambda s: len(s.rows), MAX_KEPT_ROWS, MAX_KEPT_PERIODS)

# Reads one part of the period, [a, b): MAIN_SQL's columns and rows; `settled`: a part before S
# (no open cases; otherwise the part up to T, with them)
Read = Callable[[Connection[Any], dt.datetime, dt.datetime, bool], tuple[list[str], list[Any]]]


def forget() -> None:
    """Forget every kept period (tests; a process keeps at most MAX_KEPT_ROWS)."""
    KEPT.forget()


def kept_sums(
    conn: Connection[Any],
    what: tuple[Any, ...],
    t_from: dt.datetime,
    t_end: dt.datetime,
    read: Read,
) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """MAIN_SQL's columns and rows for [t_from, t_end), the settled days' sums kept: `what`
    names the grouping, scope and total the rows are of; `read` reads a part. None when no day
    of the period is settled. Only for a period no incident has an event at or after T in
    (the stored facts are those of the log up to T)."""
    settled_at = settled_end(t_from, t_end, dt.datetime.now(dt.UTC))
    if settled_at is None:
        return None
    state = read_state(conn)  # read first: a write after it makes what is kept stale at once
    key = (
        *what,
        t_from,
        settled_at,
        (state.generation, state.settled, state.schema, state.origin),
    )
    sums = KEPT.recall(key)
    if sums is None:
        columns, rows = read(conn, t_from, settled_at, True)
        sums = Sums(columns, {(r[1], r[2]): tuple(r) for r in rows})
        KEPT.remember(key, sums)
    columns, now = read(conn, settled_at, t_end, False)
    assert columns == sums.columns and columns[SUMS.stop :] == TIMES
    return columns, added(sums.rows, now)


def added(
    kept: dict[tuple[Any, bool], tuple[Any, ...]], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows of the whole period: each group's kept sums and its sums since, added (a
    group in one part only: its row as it is)."""
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
    return list(out.values())


def _plus(a: Any, b: Any) -> Any:
    """a + b, NULL counting as nothing (NULL when both are)."""
    return b if a is None else a if b is None else a + b
