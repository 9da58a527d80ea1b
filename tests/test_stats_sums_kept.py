"""The settled days' sums kept in the process (api/services/evaluation/sums_kept.py): the figures
of one statement over the whole period; an event now that changes only today's facts reuses
them; one that changes a past day's facts (an extension approved after the deadline passed,
migration 0038) makes them read again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from api.services.evaluation import sums_kept
from api.services.evaluation.times_kept import settled_end
from tests.loop import Clock, advance_to, ok, report

SH = dt.timezone(dt.timedelta(hours=8))
GROUPINGS = (("area", "grid"), ("area", "street"), ("department", None), ("category", "major"))


@pytest.fixture
def settles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Nothing kept at the start; each settled part read (a `sums_kept.Sums` made) listed."""
    made: list[Any] = []
    make = sums_kept.Sums

    def counted(*args: Any) -> Any:
        made.append(args)
        return make(*args)

    monkeypatch.setattr(sums_kept, "Sums", counted)
    sums_kept.forget()
    yield made
    sums_kept.forget()


def changes(world_db: str) -> int:
    with psycopg.connect(world_db) as conn:
        row = conn.execute("SELECT changes FROM eval_settled").fetchone()
    assert row is not None
    return int(row[0])


def test_kept_sums_are_one_statement_s_and_a_past_day_changed_now_reads_them_again(
    world: Any, world_db: str, cast: Any, monkeypatch: pytest.MonkeyPatch, settles: list[Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    # days ago (the app's clock set back: written now, dated then): cases handled, and one
    # dispatched whose handling deadline has passed
    clock = Clock(now - dt.timedelta(days=6))
    world.app.state.clock = clock
    for i in range(4):
        incident = report(world, lon=116.010 + (i % 2) * 0.025)  # two grids
        advance_to(world, cast, incident, "in_progress")
        clock.advance(hours=3 + i)
        ok(world, incident, cast.dept, "handle", note="清运完毕")
        clock.advance(hours=5)
    late = report(world)
    doc = advance_to(world, cast, late, "in_progress")
    due = dt.datetime.fromisoformat(doc["due_at"])
    world.app.state.clock = lambda: dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=8)).astimezone(SH).date().isoformat()
    settled_at = settled_end(dt.datetime.fromisoformat(since + "T00:00:00+08:00"), now, now)
    assert settled_at is not None and due < settled_at  # settled late, on a settled day

    def tables() -> list[Any]:
        out = []
        for group_by, level in GROUPINGS:
            params = {"from": since, "group_by": group_by}
            if level is not None:
                params["level"] = level
            r = world.get("/api/v1/stats", params=params, headers=cast.admin)
            assert r.status_code == 200, r.text
            out.append((r.json()["rows"], r.json()["total"]))
        return out

    def alone() -> list[Any]:  # one statement over the whole period, nothing kept
        with monkeypatch.context() as m:
            m.setattr(sums_kept, "settled_end", lambda *_: None)
            return tables()

    first = tables()
    assert len(settles) == len(GROUPINGS)  # each grouping's settled days read once
    assert first == alone()
    total = first[0][1]
    assert (total["handled"], total["handle_due"], total["open"]) == (4, 5, 5)  # none closed

    # a case reported and handled now: today's facts, read at the next call, the kept reused
    before = changes(world_db)
    incident = report(world)
    advance_to(world, cast, incident, "handled")
    again = tables()
    assert len(settles) == len(GROUPINGS) and changes(world_db) == before
    assert again[0][1]["reported"] == total["reported"] + 1
    assert again[0][1]["handled"] == total["handled"] + 1
    assert again == alone()

    # an extension approved now for the late case: its "settled late" fact, dated at the passed
    # deadline, moves to the new one (to come); no generation, but the settled days changed
    until = (now + dt.timedelta(days=2)).isoformat()
    ok(world, late, cast.dept, "request_extension", note="需协调", data={"until": until})
    ok(world, late, cast.disp, "approve_extension", data={"approved": True})
    assert changes(world_db) > before
    moved = tables()
    assert moved[0][1]["handle_due"] == again[0][1]["handle_due"] - 1
    assert moved[0][1]["overdue"] == again[0][1]["overdue"] - 1
    assert moved == alone()
    assert len(settles) == 2 * len(GROUPINGS)  # read again


def test_the_negative_list_reads_the_kept_sums(
    world: Any, cast: Any, monkeypatch: pytest.MonkeyPatch, settles: list[Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    clock = Clock(now - dt.timedelta(days=7))
    world.app.state.clock = clock
    for i in range(3):
        incident = report(world, lon=116.010 + (i % 2) * 0.025)
        advance_to(world, cast, incident, "in_progress")
        clock.advance(days=2)  # handled late: flagged below the on-time rate
        ok(world, incident, cast.dept, "handle", note="清运完毕")
        clock.advance(hours=1)
    world.app.state.clock = lambda: dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=9)).astimezone(SH).date().isoformat()
    for limit in ({}, {"limit": 500}):  # every flag (times with the sums), the page's 500
        params = {"from": since, **limit}
        kept = world.get("/api/v1/stats/flags", params=params, headers=cast.admin)
        assert kept.status_code == 200, kept.text
        assert kept.json()["flags"], kept.json()
        with monkeypatch.context() as m:
            m.setattr(sums_kept, "settled_end", lambda *_: None)
            alone = world.get("/api/v1/stats/flags", params=params, headers=cast.admin).json()
        assert (kept.json()["flags"], kept.json()["matched"]) == (alone["flags"], alone["matched"])
    assert len(settles) == 2  # the grids' and the departments', once for both reads
