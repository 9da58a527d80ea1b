"""The settled days' handling times kept in the process (api/services/evaluation/times_kept.py):
the figures of one statement over the whole period, today's times added at each read, and a
change dated back (which raises the generation) read again."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from api.services.evaluation import times_kept
from api.services.evaluation.times_kept import kth, p90, settled_end
from tests.loop import Clock, advance_to, ok, report
from tests.spy import calls_of
from tests.test_stats import PERIOD, week  # noqa: F401  (fixture)

SH = dt.timezone(dt.timedelta(hours=8))
GROUPINGS = (("area", "grid"), ("area", "street"), ("department", None), ("category", "major"))


@pytest.fixture
def settles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Nothing kept at the start; each settling of a period (`times_kept._settle`) listed."""
    calls = calls_of(monkeypatch, times_kept, "_settle", lambda *args, **kw: args[1:])
    times_kept.forget()
    yield calls
    times_kept.forget()


def test_kth_is_the_kth_of_the_sorted_union() -> None:
    rng = random.Random(7)
    for _ in range(400):
        pick = [1.0, 2.0, 2.5, 3.0, rng.random()]
        a = sorted(rng.choice(pick) for _ in range(rng.randrange(0, 25)))
        b = sorted(rng.choice(pick) for _ in range(rng.randrange(0, 8)))
        union = sorted(a + b)
        assert [kth(a, b, k) for k in range(len(union))] == union, (a, b)


def test_p90_is_postgresqls_percentile_cont(world_db: str) -> None:
    rng = random.Random(3)
    query = "SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY v) FROM unnest(%s::float8[]) v"
    with psycopg.connect(world_db) as conn:
        for n in (1, 2, 3, 7, 10, 11, 12, 100, 1001):
            values = sorted(rng.uniform(0, 1e6) for _ in range(n))
            row = conn.execute(query, (values,)).fetchone()
            assert row is not None and p90(values) == row[0], n


def test_the_settled_part_ends_at_a_midnight_an_hour_ago_or_at_the_period_s_end() -> None:
    t_from = dt.datetime(2026, 11, 7, tzinfo=SH)
    late = dt.datetime(2026, 12, 7, 23, 0, tzinfo=SH)
    assert settled_end(t_from, late, late) == dt.datetime(2026, 12, 7, tzinfo=SH)
    # within the hour after midnight: the day before is not settled yet
    early = dt.datetime(2026, 12, 8, 0, 30, tzinfo=SH)
    assert settled_end(t_from, early, early) == dt.datetime(2026, 12, 7, tzinfo=SH)
    # a period that ended long ago is settled whole
    assert settled_end(t_from, late, late + dt.timedelta(days=3)) == late
    # nothing of a period from today is
    assert settled_end(dt.datetime(2026, 12, 7, 8, tzinfo=SH), late, late) is None
    # nor of one from an instant (the default: 30 days before now), which moves at every read
    assert settled_end(dt.datetime(2026, 11, 7, 8, tzinfo=SH), late, late) is None


def test_kept_times_are_those_of_one_statement_with_today_s_added(
    world: Any, cast: Any, monkeypatch: pytest.MonkeyPatch, settles: list[Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    # cases handled over the last days (the app's clock set back: written now, dated then)
    clock = Clock(now - dt.timedelta(days=4))
    world.app.state.clock = clock
    for i in range(6):
        incident = report(world, lon=116.010 + (i % 2) * 0.025)  # two grids
        advance_to(world, cast, incident, "in_progress")
        clock.advance(hours=3 + i, minutes=7 * i)
        ok(world, incident, cast.dept, "handle", note="清运完毕")
        clock.advance(hours=9)
    world.app.state.clock = lambda: dt.datetime.now(dt.UTC)

    since = (now - dt.timedelta(days=6)).astimezone(SH).date().isoformat()

    def tables(headers: dict[str, str]) -> list[Any]:
        out = []
        for group_by, level in GROUPINGS:
            params = {"from": since, "group_by": group_by}
            if level is not None:
                params["level"] = level
            r = world.get("/api/v1/stats", params=params, headers=headers)
            assert r.status_code == 200, r.text
            out.append((r.json()["rows"], r.json()["total"]))
        return out

    first = tables(cast.admin)
    assert len(settles) == len(GROUPINGS)  # each grouping's settled days read once
    assert first[0][1]["handling_n"] == 6
    # a case handled now: today's time, read at the next call, the kept ones reused
    incident = report(world)
    advance_to(world, cast, incident, "handled")
    kept = tables(cast.admin)
    assert len(settles) == len(GROUPINGS)
    assert kept[0][1]["handling_n"] == 7
    assert kept != first
    # a change dated back raises the generation: the settled days are read again
    clock = Clock(now - dt.timedelta(days=2))
    world.app.state.clock = clock
    incident = report(world, lon=116.035)
    advance_to(world, cast, incident, "in_progress")
    clock.advance(hours=30)
    ok(world, incident, cast.dept, "handle", note="清运完毕")
    world.app.state.clock = lambda: dt.datetime.now(dt.UTC)
    again = tables(cast.admin)
    assert len(settles) == 2 * len(GROUPINGS)
    assert again[0][1]["handling_n"] == 8
    assert again[0][1]["p90_handling_hours"] > kept[0][1]["p90_handling_hours"] + 5  # its 30 h
    # the same as one statement over the whole period, for the admin and a department's staff
    monkeypatch.setattr(times_kept, "settled_end", lambda *_: None)
    assert tables(cast.admin) == again
    monkeypatch.undo()
    times_kept.forget()
    department = tables(cast.dept)
    monkeypatch.setattr(times_kept, "settled_end", lambda *_: None)
    assert tables(cast.dept) == department


def test_what_is_kept_is_bounded_and_of_the_current_state() -> None:
    from api.services.evaluation.bucket_cache import State
    from api.services.evaluation.keeper import Keeper

    now, later = State(7, "0037", "1:1", False), State(8, "0037", "1:2", False)
    kept: Keeper[list[float]] = Keeper(len, 10, 3)  # at most 10 values, 3 periods
    for i in range(3):
        kept.remember((i, now), [1.0] * 3)
    assert kept.recall((0, now)) is not None  # used: the most recent now
    kept.remember((3, now), [1.0] * 3)  # 12 values: the least recently used goes
    assert [kept.recall((i, now)) is not None for i in range(4)] == [True, False, True, True]
    for i in range(4, 8):
        kept.remember((i, now), [])  # nothing to keep: still at most 3 periods
    assert sum(kept.recall((i, now)) is not None for i in range(8)) == 3
    kept.remember((0, later), [1.0])  # a new generation: the others are dead
    assert [kept.recall((i, now)) for i in range(8)] == [None] * 8
    assert kept.recall((0, later)) is not None
    # the kept times' own bounds
    assert (times_kept.KEPT.max_size, times_kept.KEPT.max_entries) == (
        times_kept.MAX_KEPT_TIMES,
        times_kept.MAX_KEPT_PERIODS,
    )


@pytest.mark.usefixtures("week")
def test_the_table_reuses_what_the_negative_list_kept(
    world: Any, cast: Any, monkeypatch: pytest.MonkeyPatch, settles: list[Any]
) -> None:
    flags = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin)
    assert flags.status_code == 200 and len(settles) == 2  # the grids' and the departments'
    params = {**PERIOD, "group_by": "area", "level": "grid"}
    table = world.get("/api/v1/stats", params=params, headers=cast.admin).json()
    assert len(settles) == 2  # the grids' kept times, put in order for the total
    assert table["total"]["handling_n"] > 0
    monkeypatch.setattr(times_kept, "settled_end", lambda *_: None)
    alone = world.get("/api/v1/stats", params=params, headers=cast.admin).json()
    assert (table["rows"], table["total"]) == (alone["rows"], alone["total"])
