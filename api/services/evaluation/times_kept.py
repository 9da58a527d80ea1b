"""The handling times of a period's settled days, kept in the process (issue 13).

A handling time (`eval_times`: an episode's first handling, dated at it, and its seconds since
the dispatch) does not change once written: a later event moves neither an episode's first
handling nor its dispatch. What can change the times of past days — a row dated back, an
incident re-keyed, a write to categories, departments or areas — raises
`eval_stale.generation` (migration 0036), as for the kept trend buckets (`bucket_cache`). So the
times of the days of a period that ended at least KEEP_AFTER ago, [from, S) with S a local
midnight (or the period's end, if earlier), are read once per `bucket_cache.State` (the
generation, the schema's revision, which database) and kept here sorted per group; each read
adds those of [S, T), today's few thousand, to the groups that have any. The figures are those
TIMES_SQL gives (docs/metrics.md "Handling time": the count, the mean, `percentile_cont(0.9)`),
computed here.

The sums of the settled days are kept too, while no write changes a past day's facts
(`sums_kept`, migration 0038).
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from psycopg import Connection, sql
from psycopg.rows import tuple_row

from api.services.evaluation.bucket_cache import KEEP_AFTER, State, read_state
from api.services.evaluation.keeper import Keeper
from api.services.evaluation.rollup import BUCKET_TZ, Grouping, Sources

# How many handling times all kept periods hold together, at most (8 bytes each, plus a small
# array per group): a month by grid at 1,000,000 cases is 69,556 times, twice (per group and
# in order for the total), a year 820,000
MAX_KEPT_TIMES = 4_000_000
# ... and at most this many periods (a scope without any time keeps an empty one)
MAX_KEPT_PERIODS = 256
P90 = 0.9

_SETTLED_SQL = """
SELECT {key} AS key, array_agg(x.secs ORDER BY x.secs) AS secs
FROM eval_times x {join}
WHERE x.at >= %(t_from)s AND x.at < %(settled)s AND {conds}
GROUP BY 1
"""
_LIVE_SQL = """
SELECT {key} AS key, x.secs
FROM eval_times x {join}
WHERE x.at >= %(settled)s AND x.at < %(t_end)s AND {conds}
"""


def settled_end(t_from: dt.datetime, t_end: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """Where the settled part of [t_from, t_end) ends: the local midnight at or before
    now − KEEP_AFTER, or t_end if earlier; None when no part of the period is settled, or when
    it does not start at a local midnight (a period from an instant, such as the default "30
    days before now", starts elsewhere at every read: nothing kept would be read again)."""
    start = t_from.astimezone(BUCKET_TZ)
    if start != dt.datetime.combine(start.date(), dt.time(0), BUCKET_TZ):
        return None
    day = (now - KEEP_AFTER).astimezone(BUCKET_TZ).date()
    end = min(dt.datetime.combine(day, dt.time(0), BUCKET_TZ), t_end)
    return end if end > t_from else None


def p90(values: Any) -> float:
    """`percentile_cont(0.9)` of sorted `values`."""
    return p90_of(len(values), values.__getitem__)


def p90_of(n: int, nth: Callable[[int], Any]) -> float:
    """`percentile_cont(0.9)` of n sorted values, `nth(k)` the k-th from 0 (PostgreSQL's
    arithmetic, step by step: the two values around 0.9 × (n − 1), interpolated)."""
    at = P90 * (n - 1)
    first, second = math.floor(at), math.ceil(at)
    low = nth(first)
    high = nth(second) if second != first else low
    return float(low + (at - first) * (high - low))


def kth(a: Any, b: Any, k: int) -> float:
    """The k-th smallest (from 0) of the union of sorted `a` and sorted `b`, without merging
    them: a binary search over how many of the first k + 1 come from `b`."""
    lo, hi = max(0, k + 1 - len(a)), min(k + 1, len(b))
    while lo < hi:  # the least i with b[i] >= a[k - i] (or i = hi)
        i = (lo + hi) // 2
        if b[i] < a[k - i]:
            lo = i + 1
        else:
            hi = i
    i, j = lo, k + 1 - lo  # the first k + 1: b[:i] and a[:j]
    return float(max(a[j - 1] if j else -math.inf, b[i - 1] if i else -math.inf))


@dataclass(frozen=True)
class Settled:
    """A period's settled handling times: per group in order, and every one in order (the
    total's), with each group's figures (count, mean, p90) and the total's sum."""

    by_key: dict[Any, array[float]]
    figures: dict[Any, tuple[int, float, float]]
    every: np.ndarray[Any, np.dtype[np.float64]] | None
    every_sum: float

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.by_key.values()) + (
            0 if self.every is None else len(self.every)
        )


# the periods kept: bounded by their times, all together, and their number
KEPT: Keeper[Settled] = Keeper(lambda s: s.size, MAX_KEPT_TIMES, MAX_KEPT_PERIODS)


def forget() -> None:
    """Forget every kept period (tests; a process keeps at most MAX_KEPT_TIMES)."""
    KEPT.forget()


def _figures(values: Any) -> tuple[int, float, float]:
    return len(values), math.fsum(values) / len(values), p90(values)


def _settle(conn: Connection[Any], src: Sources, params: dict[str, Any], total: bool) -> Settled:
    query = sql.SQL(_SETTLED_SQL).format(key=src.key, join=src.join, conds=src.cond)
    with conn.cursor(row_factory=tuple_row, binary=True) as cur:
        rows = cur.execute(query, params).fetchall()
    by_key = {key: array("d", secs) for key, secs in rows}
    settled = Settled(by_key, {key: _figures(values) for key, values in by_key.items()}, None, 0.0)
    return _with_every(settled) if total else settled


def _with_every(settled: Settled) -> Settled:
    """`settled` with every time in order, for the total (the negative list has none): with
    numpy, a year's 820,000 in ≈ 50 ms, against 130 ms for sorted()."""
    parts = [np.frombuffer(values, dtype=np.float64) for values in settled.by_key.values()]
    every = np.sort(np.concatenate(parts)) if parts else np.empty(0)
    # (summed pairwise: within a few ulps of the exact sum)
    return replace(settled, every=every, every_sum=float(np.sum(every)))


def first_read(grouping: Grouping, t_from: dt.datetime, t_end: dt.datetime, state: State) -> bool:
    """Whether this process holds none of the period's settled times at `state` — its first
    read of the period (of the day, or since a write raised the generation), which reads them
    all — while some of its days are settled."""
    settled_at = settled_end(t_from, t_end, dt.datetime.now(dt.UTC))
    return settled_at is not None and KEPT.recall(_key(grouping, t_from, settled_at, state)) is None


def _key(
    grouping: Grouping, t_from: dt.datetime, settled_at: dt.datetime, state: State
) -> tuple[Any, ...]:
    """A kept period's key, the State last (`State.current`)."""
    return (grouping, t_from, settled_at, state.current)


def kept_times(
    conn: Connection[Any],
    grouping: Grouping,
    src: Sources,
    t_from: dt.datetime,
    t_end: dt.datetime,
    *,
    total: bool,
    state: State | None = None,
) -> list[tuple[Any, ...]] | None:
    """TIMES_SQL's rows for the period, the settled days' times kept (`src`: the period's
    sources, `rollup.period_sources`; `state`: the State read before anything of the period,
    read here when None): (False, key, is the total, count, mean, p90) per group
    with any, and the total's if `total`. None when no day of the period is settled."""
    settled_at = settled_end(t_from, t_end, dt.datetime.now(dt.UTC))
    if settled_at is None:
        return None
    params = {**src.params, "t_from": t_from, "t_end": t_end, "settled": settled_at}
    key = _key(grouping, t_from, settled_at, read_state(conn) if state is None else state)
    settled = KEPT.recall(key)
    if settled is None:
        settled = _settle(conn, src, params, total)
        KEPT.remember(key, settled)
    elif total and settled.every is None:  # kept by the negative list, read by the table
        settled = _with_every(settled)
        KEPT.remember(key, settled)
    live: dict[Any, list[float]] = {}
    if settled_at < t_end:
        query = sql.SQL(_LIVE_SQL).format(key=src.key, join=src.join, conds=src.cond)
        with conn.cursor(row_factory=tuple_row, binary=True) as cur:
            for group, secs in cur.execute(query, params):
                live.setdefault(group, []).append(secs)
    figures = dict(settled.figures)
    for group, secs in live.items():
        figures[group] = _figures(sorted([*settled.by_key.get(group, ()), *secs]))
    rows = [(False, group, False, *f) for group, f in figures.items()]
    if total and settled.every is not None:
        rows.append((False, None, True, *_total(settled, live)))
    return rows


def _total(settled: Settled, live: dict[Any, list[float]]) -> tuple[int, Any, Any]:
    """The total's count, mean and p90 (NULLs when no time: as an aggregate over no row)."""
    every = settled.every
    assert every is not None
    added = sorted(v for secs in live.values() for v in secs)
    n = len(every) + len(added)
    if not n:
        return 0, None, None
    mean = math.fsum([settled.every_sum, *added]) / n
    return n, mean, p90_of(n, lambda k: kth(every, added, k))
