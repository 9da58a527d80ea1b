"""The settled days' sums kept in the process (api/services/evaluation/sums_kept.py): the figures
of one statement over the whole period; an event now that changes only today's facts changes
nothing kept; one that changes a past day's facts (an extension approved after the deadline
passed, a case closed after its closing deadline) is logged (migration 0038) and added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from api.services.evaluation import sums_kept
from api.services.evaluation.times_kept import settled_end
from tests.loop import Clock, advance_to, ok, report
from tests.spy import calls_of

SH = dt.timezone(dt.timedelta(hours=8))
GROUPINGS = (("area", "grid"), ("area", "street"), ("department", None), ("category", "major"))


@pytest.fixture
def settles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Nothing kept at the start; each settled part read (a `sums_kept.Sums` made) listed."""
    made = calls_of(monkeypatch, sums_kept, "Sums")
    sums_kept.forget()
    yield made
    sums_kept.forget()


def logged(world_db: str) -> list[tuple[Any, ...]]:
    """The changes to past days' facts logged: (sign, fact) in order."""
    with psycopg.connect(world_db) as conn:
        return conn.execute("SELECT s, m FROM eval_settled_log ORDER BY xid, s, m").fetchall()


def test_kept_sums_are_one_statement_s_and_a_past_day_changed_now_is_added(
    world: Any, world_db: str, cast: Any, monkeypatch: pytest.MonkeyPatch, settles: list[Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    # days ago (the app's clock set back: written now, dated then): cases handled, and one
    # dispatched whose handling deadline has passed
    clock = Clock(now - dt.timedelta(days=6))
    world.app.state.clock = clock
    handled = []
    for i in range(4):
        incident = report(world, lon=116.010 + (i % 2) * 0.025)  # two grids
        advance_to(world, cast, incident, "in_progress")
        clock.advance(hours=3 + i)
        ok(world, incident, cast.dept, "handle", note="清运完毕")
        clock.advance(hours=5)
        handled.append(incident)
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
    before = logged(world_db)
    incident = report(world)
    advance_to(world, cast, incident, "handled")
    again = tables()
    assert len(settles) == len(GROUPINGS) and logged(world_db) == before
    assert again[0][1]["reported"] == total["reported"] + 1
    assert again[0][1]["handled"] == total["handled"] + 1
    assert again == alone()

    # an extension approved now for the late case: its "settled late" fact, dated at the passed
    # deadline, moves to the new one (to come); no generation, but a settled day changed: the
    # change is logged and added to what is kept, nothing read again
    until = (now + dt.timedelta(days=2)).isoformat()
    ok(world, late, cast.dept, "request_extension", note="需协调", data={"until": until})
    ok(world, late, cast.disp, "approve_extension", data={"approved": True})
    assert (-1, "handle_due") in logged(world_db)[len(before) :]
    moved = tables()
    assert moved[0][1]["handle_due"] == again[0][1]["handle_due"] - 1
    assert moved[0][1]["overdue"] == again[0][1]["overdue"] - 1
    assert moved == alone()
    assert len(settles) == len(GROUPINGS)
    # the handled cases closed now, after their closing deadline: "closed" counts at it
    closings = len(logged(world_db))
    for case in handled:
        ok(world, case, cast.admin, "verify", data={"passed": True})
    assert any(m == "close_done" and s == 1 for s, m in logged(world_db)[closings:])
    closed = tables()
    assert closed[0][1]["closed"] == moved[0][1]["closed"] + len(handled)
    assert closed == alone()
    assert len(settles) == len(GROUPINGS)
    # what is kept is read again after a while
    monkeypatch.setattr(sums_kept, "READ_AGAIN_AFTER", dt.timedelta(0))
    assert tables() == closed and len(settles) == 2 * len(GROUPINGS)


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


def test_the_log_of_changes_is_forgotten_after_two_days(world_db: str) -> None:
    from api.services.evaluation.bucket_cache import forget_old

    with psycopg.connect(world_db) as conn:
        for days in (3, 1):
            conn.execute(
                "INSERT INTO eval_settled_log (logged_at, s, m, at) "
                "VALUES (now() - %s * interval '1 day', 1, 'reported', now() - interval '9 days')",
                (days,),
            )
        forget_old(conn)
        left = conn.execute(
            "SELECT round(extract(epoch FROM now() - logged_at) / 86400) "
            "FROM eval_settled_log WHERE m = 'reported'"
        ).fetchall()
        conn.rollback()
    assert [int(r[0]) for r in left] == [1]


def test_a_change_is_added_once_whenever_it_commits(
    world: Any, world_db: str, cast: Any, settles: list[Any]
) -> None:
    """A change logged by a transaction the kept snapshot saw is in the kept sums already; one
    it did not see — in progress then, or later — is added, once. (Rows written here by hand:
    a 上报 dated days ago, which no rollup holds, so only the log can count it.)"""
    now = dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=8)).astimezone(SH).date().isoformat()
    log = (
        "INSERT INTO eval_settled_log (s, m, at, grid, community, street, district) "
        "SELECT 1, 'reported', now() - interval '3 days', code, NULL, NULL, NULL "
        "FROM areas WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
    )

    def reported() -> int:
        r = world.get("/api/v1/stats", params={"from": since}, headers=cast.admin)
        assert r.status_code == 200, r.text
        return int(r.json()["total"]["reported"])

    with psycopg.connect(world_db) as seen, psycopg.connect(world_db) as unseen:
        seen.execute(log)
        seen.commit()  # before the sums are kept: their snapshot sees it (no rollup has it)
        unseen.execute(log)  # in progress while they are kept
        first = reported()
        assert len(settles) == 1
        unseen.commit()
        assert reported() == first + 1
        seen.execute(log)  # after: added too
        seen.commit()
        assert reported() == first + 2
        assert reported() == first + 2 and len(settles) == 1
