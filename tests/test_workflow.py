"""The closed loop through POST /api/v1/incidents/{id}/actions: the loop, the table, refusals."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from api.services.workflow.machine import ACTIONS, TRANSITIONS, WHISTLE_STATES
from tests.loop import (
    SH,
    act,
    advance_to,
    at,
    get,
    ok,
    report,
    steps,
)

T0 = dt.datetime(2035, 11, 5, 10, 0, tzinfo=SH)  # a Monday, in the future (overdue uses now())


def event_count(db):
    return db.execute("SELECT count(*) AS n FROM incident_events").fetchone()["n"]


def test_full_loop_with_rework_step_by_step(world, cast, clock, db):
    inc = report(world, headers=cast.resident)
    doc = get(world, inc, cast.disp)
    assert doc["status"] == "reported" and doc["due_at"] is None
    assert doc["allowed_actions"] == ["register", "reject", "escalate", "whistle"]
    assert get(world, inc, cast.resident)["allowed_actions"] == ["add_info"]
    assert get(world, inc, cast.officer)["allowed_actions"] == ["self_handle"]
    assert get(world, inc, cast.dept)["allowed_actions"] == []
    assert get(world, inc)["allowed_actions"] == []  # anonymous
    log = [("report", None, "reported", "CITYMGMT-001", "res")]
    assert steps(doc) == log

    clock.advance(minutes=5)
    doc = ok(world, inc, cast.disp, "register", note="属实")
    log.append(("register", "reported", "registered", "CITYMGMT-001", "disp"))
    assert steps(doc) == log
    assert doc["events"][-1]["note"] == "属实" and at(doc["events"][-1]["at"]) == clock.now
    assert doc["allowed_actions"] == ["dispatch", "reject", "suspend", "escalate", "whistle"]

    clock.advance(minutes=5)  # Monday 10:10 + one working day (09:00–17:00) = Tuesday 10:10
    doc = ok(world, inc, cast.disp, "dispatch")  # default: the routed department
    log.append(("dispatch", "registered", "dispatched", "CITYMGMT-001", "disp"))
    assert steps(doc) == log
    due = dt.datetime(2035, 11, 6, 10, 10, tzinfo=SH)
    assert at(doc["due_at"]) == due and doc["overdue"] is False
    data = doc["events"][-1]["data"]
    assert data["lead"] == "CITYMGMT-001" and data["supporting"] == []
    assert at(data["due_at"]) == due
    assert data["time_limit"] == {"value": 1.0, "unit": "working_days"}
    assert doc["departments"] == {"lead": "CITYMGMT-001", "supporting": []}
    assert get(world, inc, cast.dept)["allowed_actions"] == [
        "accept",
        "return",
        "request_extension",
    ]

    clock.advance(minutes=20)
    doc = ok(world, inc, cast.dept, "accept")
    log.append(("accept", "dispatched", "in_progress", "CITYMGMT-001", "cm"))
    assert steps(doc) == log
    assert get(world, inc, cast.dept)["allowed_actions"] == [
        "handle",
        "return",
        "request_extension",
    ]

    clock.advance(hours=1)
    photos = ["https://img.example/before.jpg", "https://img.example/after.jpg"]
    doc = ok(world, inc, cast.dept, "handle", note="已清运", data={"photos": photos})
    log.append(("handle", "in_progress", "handled", "CITYMGMT-001", "cm"))
    assert steps(doc) == log and doc["events"][-1]["data"] == {"photos": photos}
    assert get(world, inc, cast.officer)["allowed_actions"] == ["verify"]
    assert get(world, inc, cast.dept)["allowed_actions"] == []

    clock.advance(minutes=30)
    doc = ok(world, inc, cast.officer, "verify", note="仍有残留", data={"passed": False})
    log.append(("verify", "handled", "in_progress", "CITYMGMT-001", "off"))
    assert steps(doc) == log
    assert doc["events"][-1]["data"] == {"passed": False, "rework_count": 1}
    assert doc["rework_count"] == 1 and doc["closed_at"] is None
    assert at(doc["due_at"]) == due  # rework keeps the deadline

    clock.advance(minutes=40)
    doc = ok(world, inc, cast.dept, "handle", note="残留已清")
    log.append(("handle", "in_progress", "handled", "CITYMGMT-001", "cm"))
    assert steps(doc) == log

    clock.advance(minutes=10)
    doc = ok(world, inc, cast.officer, "verify", data={"passed": True})
    log.append(("verify", "handled", "closed", "CITYMGMT-001", "off"))
    assert steps(doc) == log
    assert doc["events"][-1]["data"] == {"passed": True, "rework_count": 1}
    assert doc["status"] == "closed" and at(doc["closed_at"]) == clock.now
    assert doc["overdue"] is False and doc["allowed_actions"] == []
    assert [at(e["at"]) for e in doc["events"][1:]] == [
        T0 + dt.timedelta(minutes=m) for m in (5, 10, 30, 90, 120, 160, 170)
    ]
    row = db.execute(
        "SELECT status, rework_count, closed_at, updated_at FROM incidents WHERE public_id = %s",
        (inc,),
    ).fetchone()
    assert row == {
        "status": "closed",
        "rework_count": 1,
        "closed_at": clock.now,
        "updated_at": clock.now,
    }
    with pytest.raises(psycopg.errors.RestrictViolation):  # the log is append-only
        db.execute("UPDATE incident_events SET note = 'x' WHERE note = '属实'")


@pytest.mark.parametrize("status", list(TRANSITIONS))
def test_every_illegal_transition_is_409_and_writes_nothing(world, cast, clock, db, status):
    inc = report(world)
    advance_to(world, cast, inc, status)
    # Guarded actions (no pending request / acknowledgement here) are refused too.
    allowed = [a for a in TRANSITIONS[status] if a not in ("approve_extension", "acknowledge")]
    assert get(world, inc, cast.admin)["allowed_actions"] == allowed + (
        ["whistle"] if status in WHISTLE_STATES else []
    )
    before = event_count(db)
    illegal = [a for a in ACTIONS if a not in allowed]
    assert illegal  # every status forbids something
    for action in illegal:
        body = {"note": "x", "data": {"passed": True}} if action == "verify" else {"note": "x"}
        r = act(world, inc, cast.admin, action, **body)
        assert r.status_code == 409, (action, r.text)
        err = r.json()["error"]
        assert err["code"] == "invalid_transition"
        assert err["details"]["status"] == status and err["details"]["action"] == action
        assert err["details"]["allowed"] == allowed
    assert event_count(db) == before
    assert get(world, inc)["status"] == status


def test_table_covers_every_status_and_action():
    from api.db.models import STATUSES
    from api.schemas.workflow import ActionName

    assert set(TRANSITIONS) == set(STATUSES)
    assert set(ACTIONS) == set(ActionName.__args__)
    targets = {t for moves in TRANSITIONS.values() for t in moves.values()}
    assert targets - {"=", "<"} <= set(STATUSES)
    assert TRANSITIONS["closed"] == {} and TRANSITIONS["rejected"] == {}


REFUSALS = [  # (status, who, action, body): the table allows it, this user may not
    ("reported", "dept", "register", {}),  # wrong role
    ("reported", "other_disp", "register", {}),  # dispatcher of another street
    ("reported", "officer", "reject", {"data": {"reason": "invalid"}}),
    ("reported", "other_officer", "self_handle", {"note": "x"}),  # officer of another grid
    ("reported", "neighbour", "add_info", {"note": "x"}),  # not the reporter
    ("registered", "officer", "dispatch", {}),
    ("dispatched", "water", "accept", {}),  # not the assigned department
    ("dispatched", "disp", "accept", {}),
    ("dispatched", "dept", "approve_extension", {}),
    ("dispatched", "dept", "acknowledge", {}),
    ("in_progress", "sanitation", "handle", {"note": "x"}),
    ("in_progress", "water", "request_extension", {"note": "x"}),
    ("handled", "disp", "verify", {"data": {"passed": True}}),
    ("handled", "dept", "verify", {"data": {"passed": True}}),
    ("handled", "other_officer", "verify", {"data": {"passed": True}}),
    ("suspended", "dept", "reopen", {}),
]


@pytest.mark.parametrize("status", sorted({c[0] for c in REFUSALS}))
def test_wrong_role_or_scope_is_403_and_writes_nothing(world, cast, clock, db, status):
    inc = report(world)
    advance_to(world, cast, inc, status)
    before = event_count(db)
    for _, who, action, body in [c for c in REFUSALS if c[0] == status]:
        r = act(world, inc, getattr(cast, who), action, **body)
        assert r.status_code == 403, (who, action, r.text)
        err = r.json()["error"]
        assert err["code"] == "forbidden" and err["details"]["action"] == action
    assert event_count(db) == before


def test_anonymous_and_unknown_incident(world, cast):
    inc = report(world)
    r = act(world, inc, {}, "register")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = act(world, "20260101-999999", cast.disp, "register")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = act(world, inc, cast.disp, "fly")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"


BAD_INPUT = [  # (status, who, action, body, field): a permitted action with bad input
    ("reported", "disp", "reject", {}, "data.reason"),
    ("reported", "disp", "reject", {"data": {"reason": "spam"}}, "data.reason"),
    ("reported", "disp", "reject", {"data": {"reason": "duplicate"}}, "data.duplicate_of"),
    (
        "reported",
        "disp",
        "reject",
        {"data": {"reason": "duplicate", "duplicate_of": "20200101-000001"}},
        "data.duplicate_of",
    ),
    ("reported", "disp", "register", {"data": {"urgent": True}}, "data.urgent"),
    ("reported", "disp", "register", {"department": "WATER"}, "department"),
    ("reported", "disp", "escalate", {}, "note"),
    ("registered", "disp", "dispatch", {"department": "NOPE"}, "department"),
    ("registered", "disp", "dispatch", {"data": {"supporting": ["NOPE"]}}, "data.supporting"),
    (
        "registered",
        "disp",
        "dispatch",
        {"department": "WATER", "data": {"supporting": ["WATER"]}},
        "data.supporting",
    ),
    ("registered", "disp", "suspend", {"note": "   "}, "note"),
    ("dispatched", "dept", "return", {}, "note"),
    (
        "dispatched",
        "dept",
        "request_extension",
        {"note": "雨天", "data": {"until": "2020-01-01T00:00:00+08:00"}},
        "data.until",
    ),
    (
        "dispatched",
        "dept",
        "request_extension",
        {"note": "雨天", "data": {"until": "2030-01-01T00:00:00"}},  # no offset
        "data.until",
    ),
    ("in_progress", "dept", "handle", {}, "note"),
    (
        "in_progress",
        "dept",
        "handle",
        {"note": "ok", "data": {"photos": ["javascript:alert(1)"]}},
        "data.photos",
    ),
    ("handled", "officer", "verify", {}, "data.passed"),
    ("handled", "officer", "verify", {"data": {"passed": "yes"}}, "data.passed"),
]


@pytest.mark.parametrize("status", sorted({c[0] for c in BAD_INPUT}))
def test_bad_action_input_is_422_and_writes_nothing(world, cast, clock, db, status):
    inc = report(world)
    advance_to(world, cast, inc, status)
    before = event_count(db)
    for _, who, action, body, field in [c for c in BAD_INPUT if c[0] == status]:
        r = act(world, inc, getattr(cast, who), action, **body)
        assert r.status_code == 422, (action, body, r.text)
        err = r.json()["error"]
        assert err["code"] == "validation_failed"
        assert err["details"]["problems"][0]["field"] == field, (action, body)
    assert event_count(db) == before
    assert get(world, inc)["status"] == status
