"""The rows of a period from the rollups (`rollup` builds the sources, `rollup_sql` holds the
texts): one statement of the groups' sums and handling times, or with a spare connection the
times beside the sums; the rows as `query.stats_rows` gives them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import tuple_row

from api.db.at_once import Spare, beside
from api.services.evaluation.bucket_cache import read_state
from api.services.evaluation.rollup import (
    SUMMED,
    Grouping,
    Sources,
    changes_since,
    correction,
    correction_log,
    nonzero_cond,
    overall,
    period_sources,
    repeat_columns,
    sum_columns,
    times_grouping,
    times_key_cond,
)
from api.services.evaluation.rollup_sql import (
    MAIN_SQL,
    QUERY_SQL,
    SNAPSHOT_SQL,
    TIMES_SQL,
    TIMES_TOTAL_SQL,
)
from api.services.evaluation.statement import evaluation_settings
from api.services.evaluation.sums_kept import kept_sums
from api.services.evaluation.times_kept import first_read, kept_times

# A raw row's handling times: TIMES_SQL's last three columns
TIMES_KEYS = ("handling_n", "handling_avg_s", "handling_p90_s")
# TIMES_SQL's rows: NULL in the columns of the sums
_NULLS = sql.SQL(", ").join(sql.SQL("NULL") for _ in (*SUMMED, "open", "overdue", "handled"))


def rollup_rows(
    conn: Connection[Any],
    *,
    t_from: dt.datetime,
    t_end: dt.datetime,
    group_by: str,
    level: str | None,
    scope_department: str | None,
    scope_area: str | None = None,
    scope_level: str | None = None,
    key: str | None = None,
    only_key: bool = False,
    live: tuple[sql.Composable, list[int]] | None = None,
    from_facts: bool = False,
    total: bool = True,
    times: bool = True,
    spare: Spare | None = None,
) -> list[dict[str, Any]]:
    """The raw rows of `stats_query.stats_rows` from the rollups, or with `from_facts` from the
    rolled facts of the whole period (call `source` first).

    `live`: facts_sql.FACTS_SQL over the incidents reported before T with events at or after
    it (CTEs `inc`, `facts`), and their ids — within the area scope, if any: their T-dependent
    facts are read from their log.

    The sums and the handling times of the period's settled days are kept in the process
    (`sums_kept`, `times_kept`; the rollups and the whole period by group, not one group's):
    only today's are read, with the changes to the settled days' facts since. Otherwise,
    `spare` (`at_once.Spare`): the groups' handling times are read on a second connection,
    when one is free at once, while the sums are read here and made dictionaries (a month by
    grid at 1,000,000 cases: 152–207 → 114–172 ms, docs/performance.md 2026-12-07 later);
    otherwise both in one statement. Without `times`, the sums alone: the handling times NULL
    (`rollup_times` reads them for some groups later)."""
    grouping = Grouping(group_by, level, scope_department, scope_area, scope_level)
    src = period_sources(
        conn,
        grouping,
        t_from,
        t_end,
        from_facts=from_facts,
        # no incident has an event at or after T (T is now): its day is read whole
        last_day_whole=live is None or not live[1],
    )
    k, params = src.key, src.params
    key_cond: sql.Composable = sql.SQL("true")
    if only_key:  # one group's figures (trend charts)
        key_cond = sql.SQL("key IS NOT DISTINCT FROM %(key)s")
        params["key"] = key
    rows_repeat, total_repeat = repeat_columns(group_by, scope_department)
    handled = (
        f"CASE WHEN GROUPING(key) = 1 THEN sum(handles) - sum({total_repeat}) "
        f"ELSE sum(handles) - sum({rows_repeat}) END"
    )
    fix: sql.Composable = sql.SQL("")
    prefix: sql.Composable | None = None
    if live is not None and live[1]:
        prefix, params["live"] = live
        fix = sql.SQL("{}{}").format(
            correction_log(group_by, src.fcond), correction(k, src.join, src.cond)
        )
    times_cond = times_key_cond(k, key) if only_key else sql.SQL("true")
    parts = {
        "prefix": sql.SQL("") if prefix is None else sql.SQL("{}, ").format(prefix),
        "sources": src.sources,
        "correction": fix,
        "key_cond": key_cond,
        "times_key_cond": times_cond,
        "sums": sum_columns(),
        "handled": sql.SQL(handled),
        "key": k,
        "join": src.join,
        "conds": src.cond,
        "overall": overall(total),
        "times_grouping": times_grouping(group_by, level, k, t_end - t_from),
        "times_total": sql.SQL(TIMES_TOTAL_SQL if total else "").format(
            nulls=_NULLS, join=src.join, conds=src.cond, times_key_cond=times_cond
        ),
        "nulls": _NULLS,
        "nonzero": nonzero_cond("m"),
    }

    # what this process keeps of the period's settled days is used at the State read first
    keeps = not from_facts and not only_key and (times or prefix is None)
    state = read_state(conn) if keeps else None

    def sums(c: Connection[Any]) -> list[dict[str, Any]]:  # the groups' rows, times NULL
        if state is not None and prefix is None:
            # the settled days' sums kept, the rest read (T is after every event: no correction)
            reads = _Parts(grouping, t_from, parts)
            kept = kept_sums(c, (grouping, total), t_from, t_end, reads, state)
            if kept is not None:
                return _groups(*kept)
        return _groups(*_read(c, sql.SQL(MAIN_SQL).format(**parts), params))

    if not times:
        return sums(conn)
    if state is not None:
        # the settled days' handling times kept, today's read: no statement beside the sums
        def times_of(c: Connection[Any]) -> list[tuple[Any, ...]] | None:
            return kept_times(c, grouping, src, t_from, t_end, total=total, state=state)

        if spare is not None and first_read(grouping, t_from, t_end, state):
            # none kept in this process yet (its first read of the period): the settled days'
            # times read and kept on a second connection while the sums are read here
            with spare() as other:
                if other is not None:
                    groups, kept = beside(conn, other, sums, lambda o: _with_settings(o, times_of))
                    if kept is not None:
                        return _with_times(groups, kept)
                    query = sql.SQL(TIMES_SQL).format(**parts)  # (settled none at midnight)
                    return _with_times(groups, _times_of(conn, query, params))
        kept = times_of(conn)
        if kept is not None:
            return _with_times(sums(conn), kept)
    if spare is not None:
        with spare() as other:
            if other is not None:
                # the sums here, made dictionaries while the times are read on `other`
                groups, their_times = beside(
                    conn,
                    other,
                    sums,
                    lambda o: _times_of(o, sql.SQL(TIMES_SQL).format(**parts), params),
                )
                return _with_times(groups, their_times)
    columns, rows = _read(conn, sql.SQL(QUERY_SQL).format(**parts), params)
    return _with_times(_groups(columns, [r for r in rows if r[0]]), [r for r in rows if not r[0]])


@dataclass(frozen=True)
class _Parts:
    """The parts of a period `sums_kept` reads apart, each through MAIN_SQL (`parts`: its
    other pieces, as `rollup_rows` fills them; `t_from`: the whole period's start)."""

    grouping: Grouping
    t_from: dt.datetime
    parts: dict[str, Any]

    def _sources(self, c: Connection[Any], a: dt.datetime, b: dt.datetime, now: bool) -> Sources:
        return period_sources(
            c,
            self.grouping,
            a,
            b,
            from_facts=False,
            last_day_whole=now,  # (T is after every event)
            repeat_from=self.t_from,
            open_cases=now,
        )

    def _main(self, src: Sources) -> sql.Composed:
        return sql.SQL(MAIN_SQL).format(**{**self.parts, "sources": src.sources})

    def settled(
        self, c: Connection[Any], a: dt.datetime, b: dt.datetime
    ) -> tuple[tuple[list[str], list[Any]], str]:
        src = self._sources(c, a, b, False)
        columns, rows = _read(c, sql.SQL(SNAPSHOT_SQL).format(main=self._main(src)), src.params)
        # (the snapshot's row alone, its other columns NULL, when there is no other)
        return (columns[:-1], [r[:-1] for r in rows if r[0] is not None]), rows[0][-1]

    def since(
        self, c: Connection[Any], a: dt.datetime, b: dt.datetime, snapshot: str
    ) -> tuple[list[str], list[Any]]:
        src = changes_since(self._sources(c, a, b, False), snapshot)
        return _read(c, self._main(src), src.params)

    def until_now(
        self, c: Connection[Any], a: dt.datetime, b: dt.datetime
    ) -> tuple[list[str], list[Any]]:
        src = self._sources(c, a, b, True)
        return _read(c, self._main(src), src.params)


def rollup_times(
    conn: Connection[Any],
    grouping: Grouping,
    t_from: dt.datetime,
    t_end: dt.datetime,
    keys: list[str],
    *,
    from_facts: bool = False,
) -> dict[str | None, tuple[Any, Any, Any]]:
    """The handling times of the groups `keys` alone (count, mean and p90 seconds; a group
    without any: absent), as `rollup_rows` reads them for every group: TIMES_SQL, its groups
    limited to these (the negative list's 500 first flags of a month by grid: ≈ 10 ms, against
    69–75 ms for the 10,000 grids, serially, docs/performance.md) — or the settled days' kept
    (`times_kept`, as the table reads them) and today's."""
    src = period_sources(conn, grouping, t_from, t_end, from_facts=from_facts, last_day_whole=True)
    if not from_facts:  # the settled days' kept (the table's), today's read
        kept = kept_times(conn, grouping, src, t_from, t_end, total=False)
        if kept is not None:
            wanted = set(keys)
            return {t[1]: t[-3:] for t in kept if t[1] in wanted}
    query = sql.SQL(TIMES_SQL).format(
        key=src.key,
        join=src.join,
        conds=src.cond,
        times_key_cond=sql.SQL("{} = ANY(%(keys)s)").format(src.key),
        times_grouping=times_grouping(grouping.group_by, grouping.level, src.key, t_end - t_from),
        times_total=sql.SQL(""),
        nulls=_NULLS,
    )
    return {t[1]: t[-3:] for t in _read(conn, query, {**src.params, "keys": keys})[1]}


def _read(
    conn: Connection[Any], query: sql.Composed, params: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows of `query`: 10,000 rows by grid, binary (no numbers parsed
    from text) and as tuples (a dict is made for the groups' rows only, not their times)."""
    with conn.cursor(row_factory=tuple_row, binary=True) as cur:
        cur.execute(query, params)
        return [c.name for c in cur.description or ()], cur.fetchall()


def _with_settings(conn: Connection[Any], read: Callable[[Connection[Any]], Any]) -> Any:
    """`read(conn)` under the evaluation's settings (a spare connection has the pool's)."""
    with evaluation_settings(conn):
        return read(conn)


def _times_of(
    conn: Connection[Any], query: sql.Composed, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """TIMES_SQL's rows, under the evaluation's settings."""
    return _with_settings(conn, lambda c: _read(c, query, params)[1])


def _groups(columns: list[str], mains: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The rows of `main` (MAIN_SQL's, or QUERY_SQL's with their first column true) as dicts
    without that first column, in order: the groups by code (byte order, as Python sorts), the
    group without a code, then the total; their handling times NULL (`_with_times`)."""
    names = columns[1:]
    rows = [r for r in mains if r[1] is not None and not r[2]]  # one per group (GROUP BY)
    rows.sort(key=itemgetter(1))
    rows += sorted((r for r in mains if r[1] is None), key=itemgetter(2))  # no code, total
    return [dict(zip(names, r[1:], strict=True)) for r in rows]


def _with_times(groups: list[dict[str, Any]], times: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """`groups` with the handling times of their group (`times`: TIMES_SQL's rows, the last
    three columns). Times of a group with nothing else to count are not shown."""
    of = {t[1]: t for t in times if not t[2]}  # by the group's code: one hash of a string
    total = next((t for t in times if t[2]), None)
    for row in groups:
        found = total if row["total"] else of.get(row["key"])
        if found is not None:
            row["handling_n"], row["handling_avg_s"], row["handling_p90_s"] = found[-3:]
    return groups
