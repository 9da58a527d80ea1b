"""A past period's figures are those of the log up to its end, also when a later event changed
the stored facts (docs/metrics.md "Known limits", migration 0037).

A case's deadline passes before T; after T its extension is approved and it is handled within the
new deadline. As of T it was overdue and its handling obligation settled late; as of now it was
handled on time. Its stored facts know only the second: read as of T, they must give the first —
whether the log is in time order (read from the stored facts with what came after T taken away)
or not (read event by event).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests import stats_reference as ref
from tests.loop import SH, Clock, ok, report

START = dt.datetime(2025, 10, 6, 8, 0, tzinfo=SH)
DEPT = "CITYMGMT-001"  # the department SJ0102 in grid G1 is routed to
KEYS = ("handle_due", "handle_on_time", "close_due", "close_done", "open", "overdue")


def row(client: Any, admin: dict[str, str], start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    params = {"from": start.isoformat(), "to": end.isoformat(), "group_by": "department"}
    r = client.get("/api/v1/stats", params=params, headers=admin)
    assert r.status_code == 200, r.text
    found = next((x for x in r.json()["rows"] if x["code"] == DEPT), {})
    return {k: found.get(k, 0) for k in KEYS}


def test_a_past_period_reads_the_deadline_in_force_then(
    world: Any, world_db: str, token_for: Any
) -> None:
    world.app.state.clock = clock = Clock(START)
    admin = token_for("root", "admin")
    case = report(world, "SJ0102", headers=admin)
    ok(world, case, admin, "register")
    first_due = dt.datetime.fromisoformat(ok(world, case, admin, "dispatch")["due_at"])
    # the deadline passes; T is the next local midnight
    local = (first_due + dt.timedelta(minutes=1)).astimezone(SH)
    t_end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), SH)
    clock.now = t_end + dt.timedelta(hours=1)
    ok(world, case, admin, "accept")
    until = clock.now + dt.timedelta(days=2)
    ok(world, case, admin, "request_extension", note="需要协调", data={"until": until.isoformat()})
    ok(world, case, admin, "approve_extension", data={"approved": True})
    clock.advance(hours=2)
    ok(world, case, admin, "handle", note="已处理")
    clock.advance(hours=1)

    as_of_t = row(world, admin, START, t_end)
    # as of T: settled late at the first deadline, open and overdue
    assert as_of_t == {
        "handle_due": 1,
        "handle_on_time": 0,
        "close_due": 1,
        "close_done": 0,
        "open": 1,
        "overdue": 1,
    }
    # as of now: handled within the extended deadline, not yet closed (its deadline is later)
    assert row(world, admin, START, clock.now) == {
        "handle_due": 1,
        "handle_on_time": 1,
        "close_due": 0,
        "close_done": 0,
        "open": 1,
        "overdue": 0,
    }
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        incidents, checkins = ref.load(conn)
        ordered = conn.execute("SELECT ordered FROM eval_incidents").fetchall()
        assert [r["ordered"] for r in ordered] == [True]  # read from its stored facts
        rows, _ = ref.evaluate(incidents, checkins, START, t_end, "department")
        assert {k: rows[DEPT][k] for k in KEYS} == as_of_t  # the plain reading agrees
        # the day of T's bucket in a trend (the (incident, bucket) pairs' path), the same
        day = (t_end - dt.timedelta(hours=1)).date().isoformat()
        params = {"from": day, "to": day, "group_by": "department", "code": DEPT}
        r = world.get("/api/v1/stats/trend", params=params, headers=admin)
        assert r.status_code == 200, r.text
        bucket = r.json()["series"][0]
        day_start = dt.datetime.combine(t_end.date() - dt.timedelta(days=1), dt.time(0), SH)
        assert {k: bucket[k] for k in KEYS} == row(world, admin, day_start, t_end)
        assert bucket["handle_due"] == 1 and bucket["handle_on_time"] == 0
        # read event by event, as an incident whose log is out of time order: the same
        conn.execute("UPDATE eval_incidents SET ordered = false")
        assert row(world, admin, START, t_end) == as_of_t
