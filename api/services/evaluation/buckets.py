"""A trend's buckets (`flags.trend`): one group's figures for contiguous periods, read together.

Where a rollup holds the grouping and the scope, one statement reads every bucket (TREND_SQL,
`trend_rows`; a large group's buckets a few at a time, `_chunks`): the rollups per bucket, and
the log of the incidents live at each bucket's end as (incident, bucket) pairs, each read as of
its bucket's end (FACTS_PAIRS_SQL) — the figures of each bucket read alone, by `stats_rows`,
which serves the other groupings (docs/performance.md, 2026-12-06 late night).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import tuple_row

from api.db.at_once import Spare, at_once
from api.services.evaluation.facts_sql import FACTS_OF_INC, STORED_FACTS
from api.services.evaluation.live_sets import incident_key
from api.services.evaluation.query import Over, in_area, stats_rows
from api.services.evaluation.rollup import (
    Grouping,
    area_level,
    correction,
    correction_log,
    nonzero_cond,
    period_sources,
    repeat_columns,
    source,
    spans,
    sum_columns,
    times_key_cond,
)
from api.services.evaluation.statement import evaluation_settings, log_path_config

# A pair's id is `incident * PAIR_BASE + bucket`: more buckets than flags.MAX_BUCKETS
PAIR_BASE = 1024

# `inc` for several periods at once (a trend's buckets, CTE `bk`: b, t_from, t_end): one row per
# (incident, bucket) of CTE `pairs` (incident, b; `live`: their distinct incidents), the
# incidents live at the bucket's end, whose log is read as of that end. Its id is the pair's,
# `incident * PAIR_BASE + b`, so every later step (partitions, joins on incident_id) keeps the
# pairs apart without knowing of them.
_INC_PAIRS = """
    SELECT i.id * {base} + bk.b AS id, i.id AS incident, bk.t_from, bk.t_end, {ikey} AS ikey,
           NOT coalesce(f.ordered, false) AS live, {stored}
    FROM pairs p JOIN bk ON bk.b = p.b JOIN incidents i ON i.id = p.incident
    JOIN categories c ON c.code = i.category_code
    -- (the pairs' incidents by their ids, `live`: found by index, not by a join)
    LEFT JOIN eval_incidents f ON f.incident_id = i.id AND {facts_scope}
    WHERE i.reported_at < bk.t_end AND (i.closed_at IS NULL OR i.closed_at >= bk.t_from)
      AND i.id = ANY(%(live)s)"""

# (every pair has an event at or after its T: those logged in time order are read from their
# stored facts as of T, the others from their log; whistles are not T-dependent: none)
FACTS_PAIRS_SQL = FACTS_OF_INC.replace(
    "{inc}", _INC_PAIRS.replace("{base}", str(PAIR_BASE)).replace("{stored}", STORED_FACTS)
)

# One group's figures for several periods at once: a trend's buckets, contiguous (`bk`: b and
# their bounds and `spans`; `pairs`: (incident, b), the incidents live at a bucket's end that can
# count for the group). The rollups are read per bucket (the sources of ROLLUP_SQL, REPEATS_SQL
# and OPEN_SQL, their parameters the bucket's columns, through a lateral join); the live
# incidents' stored T-dependent facts for every pair at once (CORRECTION_SQL by pairs), their
# log for every pair at once (FACTS_PAIRS_SQL, CTEs `inc` … `facts`: a pair's id
# holds its bucket); the handling times of every bucket in one pass over the group's
# (width_bucket of the buckets' bounds). One statement instead of one per bucket
# (docs/performance.md, 2026-12-06 late night).
TREND_SQL = """
WITH pairs AS MATERIALIZED (
    SELECT * FROM unnest(%(p_incident)s::bigint[], %(p_b)s::int[]) p(incident, b)
),
bk AS MATERIALIZED (
    SELECT u.*
    FROM unnest(%(b)s::int[], %(b_t_from)s::timestamptz[], %(b_t_end)s::timestamptz[],
                %(b_m0)s::date[], %(b_m1)s::date[], %(b_d0)s::date[], %(b_d1)s::date[],
                %(b_e0)s::timestamptz[], %(b_e1)s::timestamptz[], %(b_e2)s::timestamptz[])
         u(b, t_from, t_end, m0, m1, d0, d1, e0, e1, e2)
),
-- the group's open cases, read once: each bucket counts those reported before its end (one scan
-- of eval_open per bucket was ≈ 1 ms each)
open_now AS MATERIALIZED (
    SELECT x.* FROM eval_open x {join} WHERE {open_key} IS NOT DISTINCT FROM %(key)s
), {facts},
src AS (
    SELECT bk.b, s.* FROM bk CROSS JOIN LATERAL ({sources}) s
    {correction}
),
main AS (
    SELECT b, {sums}, sum(handles) - sum({repeat}) AS handled
    FROM src WHERE key IS NOT DISTINCT FROM %(key)s GROUP BY b
),
times AS (
    SELECT width_bucket(x.at, %(bounds)s::timestamptz[]) - 1 AS b, count(*) AS handling_n,
           avg(x.secs) AS handling_avg_s,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY x.secs) AS handling_p90_s
    FROM eval_times x {join}
    WHERE x.at >= %(first)s AND x.at < %(last)s AND {conds} AND {times_key_cond}
    GROUP BY 1
)
SELECT m.*, t.handling_n, t.handling_avg_s, t.handling_p90_s
FROM main m LEFT JOIN times t ON t.b = m.b WHERE {nonzero}
"""
# the parameters of a bucket's sources that are its columns in TREND_SQL
BUCKET_PARAMS = ("t_from", "t_end", "m0", "m1", "d0", "d1", "e0", "e1", "e2")


def _by_bucket(conn: Connection[Any], part: sql.Composable) -> sql.Composable:
    """`part` of one period's query with each bucket parameter (BUCKET_PARAMS) read from the
    bucket's row of `bk` instead, and the open cases from the group's (`open_now`)."""
    text = part.as_string(conn).replace("FROM eval_open x", "FROM open_now x")
    for n in BUCKET_PARAMS:
        text = text.replace(f"%({n})s", f"bk.{n}")
    return sql.SQL(text)


def trend_rows(
    conn: Connection[Any],
    *,
    periods: list[tuple[dt.datetime, dt.datetime]],
    live: list[list[int]],
    facts: sql.Composable,
    grouping: Grouping,
    key: str,
) -> list[dict[str, Any] | None]:
    """`rollup_read.rollup_rows(..., key=key, only_key=True)` of each period (contiguous, at most
    PAIR_BASE) in one statement (TREND_SQL): its group's row, or None where nothing
    counts. `live[i]`: the incidents live at period i's end that can count for the group (within
    the area scope); `facts`: FACTS_PAIRS_SQL."""
    assert all(a[1] == b[0] for a, b in zip(periods, periods[1:], strict=False))
    group_by = grouping.group_by
    src = period_sources(conn, grouping, *periods[0], from_facts=False, last_day_whole=not live[0])
    params = src.params
    # the bucket's values as arrays; in its sources, its columns
    cols: dict[str, list[Any]] = {n: [] for n in BUCKET_PARAMS}
    for (t_from, t_end), ids in zip(periods, live, strict=True):
        bounds = {"t_from": t_from, "t_end": t_end}
        bounds.update(spans(t_from, t_end, last_day_whole=not ids))
        for n, values in cols.items():
            values.append(bounds[n])
    params.update({f"b_{n}": v for n, v in cols.items()})
    params["b"] = list(range(len(periods)))
    params["p_incident"] = [i for ids in live for i in ids]
    params["p_b"] = [b for b, ids in enumerate(live) for _ in ids]
    params["live"] = sorted(set(params["p_incident"]))
    params.update(key=key, first=periods[0][0], last=periods[-1][1])
    params["bounds"] = [p[0] for p in periods] + [periods[-1][1]]
    k = src.key
    query = sql.SQL(TREND_SQL).format(
        facts=facts,
        sources=_by_bucket(conn, src.sources),
        correction=sql.SQL("{}{}").format(
            _by_bucket(conn, correction(k, src.join, src.cond, pairs=True)),
            correction_log(
                group_by, src.fcond, sql.SQL("mod(f.incident_id, {})::int").format(PAIR_BASE)
            ),
        ),
        sums=sum_columns(),
        repeat=sql.SQL(repeat_columns(group_by, grouping.scope_department)[0]),
        join=src.join,
        open_key=k,
        conds=src.cond,
        times_key_cond=times_key_cond(k, key),
        nonzero=nonzero_cond("m"),
    )
    with conn.cursor(row_factory=tuple_row, binary=True) as cur:
        cur.execute(query, params)
        columns = [c.name for c in cur.description or ()]
        found = {r[0]: r for r in cur.fetchall()}
    return [
        None
        if b not in found
        else {"key": key, "total": False, **dict(zip(columns[1:], found[b][1:], strict=True))}
        for b in range(len(periods))
    ]


# The most (incident, bucket) pairs one trend statement reads from the log (≈ 30 µs each at
# 1,000,000 cases: ≈ 0.6 s). A large group's buckets (a district's: ≈ 8,000 pairs a day) are
# read a few at a time, so that each statement stays well within GRIDGOV_STATEMENT_TIMEOUT_MS
# (in one, a district's 30 days by day ran past 10 s; docs/performance.md, 2026-12-06 late night)
PAIRS_PER_STATEMENT = 20_000


# A trend with at least this many pairs is read in two parts at once, the second on a spare
# connection of the request's pool when one is free (`Spare`): its statements use one core each
# (a department's 30 days by day at 1,000,000 cases: ≈ 9,700 pairs; docs/performance.md,
# 2026-12-06 evening)
PARALLEL_PAIRS = 4_000


def _chunks(live: list[list[int]], lo: int = 0, hi: int | None = None) -> list[slice]:
    """Consecutive buckets of live[lo:hi], as few per statement as keep its pairs within
    PAIRS_PER_STATEMENT (a bucket with more is read alone)."""
    hi = len(live) if hi is None else hi
    out: list[slice] = []
    start, pairs = lo, 0
    for i in range(lo, hi):
        if i > start and pairs + len(live[i]) > PAIRS_PER_STATEMENT:
            out.append(slice(start, i))
            start, pairs = i, 0
        pairs += len(live[i])
    out.append(slice(start, hi))
    return out


def _middle(live: list[list[int]]) -> int:
    """Where to cut the buckets (1 … len - 1) so that both sides hold about half the pairs."""
    half, seen, best, gap = sum(map(len, live)) / 2, 0, 1, float("inf")
    for i in range(1, len(live)):
        seen += len(live[i - 1])
        if abs(seen - half) < gap:
            best, gap = i, abs(seen - half)
    return best


def bucket_rows(
    conn: Connection[Any],
    overs: list[Over],
    key: str,
    live: list[list[int]] | None,
    spare: Spare | None = None,
) -> list[dict[str, Any] | None]:
    """Group `key`'s raw row (or None: nothing counts) in each of `overs`, contiguous periods of
    one grouping and scope (a trend's buckets); `live[i]`: the incidents live at period i's end
    that can count for the group (`live_of_ends`), or None to find them per period.

    Where a rollup holds the grouping and the scope, one statement reads every period
    (`trend_rows`; a large group's in several, `_chunks`); otherwise one `stats_rows` per
    period."""
    first = overs[0]
    with conn.transaction(), evaluation_settings(conn):
        scope_level = area_level(conn, first.scope_area)
        read_from = source(first.group_by, first.level, scope_level, first.scope_department)
        if read_from == "rollup" and live is not None and len(overs) <= PAIR_BASE:
            if first.scope_area is not None:
                inside = set(
                    in_area(conn, sorted({i for ids in live for i in ids}), first.scope_area)
                )
                live = [[i for i in ids if i in inside] for ids in live]
            pairs = sum(map(len, live))
            log_path_config(conn, pairs)
            facts = sql.SQL(FACTS_PAIRS_SQL).format(
                incident_scope=sql.SQL("false"),
                facts_scope=sql.SQL("f.incident_id = ANY(%(live)s)"),
                ikey=incident_key(first.group_by, first.level),
            )
            grouping = Grouping(
                first.group_by, first.level, first.scope_department, first.scope_area, scope_level
            )

            def read(on: Connection[Any], parts: list[slice]) -> list[dict[str, Any] | None]:
                rows: list[dict[str, Any] | None] = []
                for part in parts:
                    periods = [(o.t_from, o.t_end) for o in overs[part]]
                    rows += trend_rows(
                        on,
                        periods=periods,
                        live=live[part],
                        facts=facts,
                        grouping=grouping,
                        key=key,
                    )
                return rows

            if spare is None or pairs < PARALLEL_PAIRS or len(live) < 2:
                return read(conn, _chunks(live))
            # two sides of about half the pairs each, each in parts within the limit
            middle = _middle(live)
            mine, theirs = _chunks(live, 0, middle), _chunks(live, middle)

            def later_side(on: Connection[Any]) -> list[dict[str, Any] | None]:
                # under the same statement settings (on a spare, in the transaction `beside`
                # gives it; with none free, after the earlier side on `conn`)
                with evaluation_settings(on):
                    log_path_config(on, pairs)
                    return read(on, theirs)

            # each bucket read whole by one statement, the rows in bucket order
            earlier, later = at_once(conn, spare, lambda c: read(c, mine), later_side)
            return earlier + later
    out: list[dict[str, Any] | None] = []
    for i, over in enumerate(overs):
        raw = stats_rows(
            conn, over, key=key, only_key=True, live_ids=None if live is None else live[i]
        )
        out.append(next((r for r in raw if not r["total"]), None))
    return out
