"""Who is told what: one test per recipient rule of the notification outbox."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg.rows import dict_row

from api.services.notifications.rules import queue_due
from tests.loop import G1, G2, STREET, act, advance_to, ok
from tests.notify_util import client_fixture, settings_fixture  # noqa: F401  (fixtures)
from tests.test_notify import report_with, rows, subscribe


def told(db, incident):
    """(rule, address, event action or kind) of the incident's outbox rows."""
    return sorted(
        (r["rule"], r["address"], r["event_action"] or r["payload"]["kind"])
        for r in rows(db, incident)
    )


def test_reporter_is_told_of_public_status_changes_only_with_consent(client, cast, db):
    subscribe(db, "sms", None, webhook="http://127.0.0.1:9/sms")
    agreed = report_with(client, {"email": "a@example.cn", "phone": "13800000000", "notify": True})
    silent = report_with(client, {"email": "b@example.cn", "phone": "13900000000"})
    anonymous = report_with(client, {"notify": True})  # agreed but left no contact
    for inc in (agreed, silent, anonymous):
        advance_to(client, cast, inc, "dispatched")
        ok(client, inc, cast.dept, "return", note="不属于本部门")  # internal: not told
        ok(client, inc, cast.disp, "dispatch")  # registered → dispatched again: told
    assert told(db, silent) == [] and told(db, anonymous) == []
    got = told(db, agreed)
    assert got == sorted(
        [
            (r, a, e)
            for e in ("register", "dispatch", "dispatch")
            for r, a in (
                ("reporter", "a@example.cn"),
                ("reporter", "http://127.0.0.1:9/sms"),
            )
        ]
    )
    sms = [r for r in rows(db, agreed) if r["channel"] == "webhook"]
    assert {r["payload"]["to"] for r in sms} == {"13800000000"}
    # A rejection tells the reason, and never an internal note of another step.
    other = report_with(client, {"email": "c@example.cn", "notify": True})
    ok(client, other, cast.disp, "reject", data={"reason": "duplicate", "duplicate_of": agreed})
    (row,) = rows(db, other)
    assert row["payload"]["data"] == {"reason": "duplicate", "duplicate_of": agreed}


def test_departments_are_told_when_dispatched_supporting_whistled_or_urged(client, cast, db):
    for code in ("CITYMGMT-001", "WATER", "SANITATION"):
        subscribe(db, "department", code, email=f"{code.lower()}@gov.example")
    inc = report_with(client, {})
    ok(client, inc, cast.disp, "register")
    ok(client, inc, cast.disp, "dispatch", data={"supporting": ["WATER"]})
    assert told(db, inc) == [
        ("department", "citymgmt-001@gov.example", "dispatch"),
        ("department", "water@gov.example", "dispatch"),
    ]
    r = client.post(
        f"/api/v1/incidents/{inc}/whistle",
        json={"departments": ["SANITATION"], "deadline_minutes": 30},
        headers=cast.disp,
    )
    assert r.status_code == 201, r.text
    ok(client, inc, cast.disp, "urge", note="群众多次反映", data={"level": "督办"})
    assert told(db, inc) == [
        ("department", "citymgmt-001@gov.example", "dispatch"),
        ("department", "citymgmt-001@gov.example", "urge"),
        ("department", "sanitation@gov.example", "whistle"),
        ("department", "water@gov.example", "dispatch"),
    ]
    urge = [r for r in rows(db, inc) if r["event_action"] == "urge"][0]
    assert urge["payload"]["data"]["level"] == "督办"
    assert urge["payload"]["note"] == "群众多次反映"
    # Accepting tells no department (nor anyone: no reporter contact).
    ok(client, inc, cast.dept, "accept")
    assert len(rows(db, inc)) == 4


def test_dispatchers_are_told_when_escalated_to_them_and_when_a_case_falls_due(
    client, cast, db, world_db
):
    subscribe(db, "dispatchers", STREET, email="street@gov.example")
    subscribe(db, "dispatchers", "110199001001", email="community@gov.example")
    subscribe(db, "dispatchers", "110199002", email="other-street@gov.example")
    inc = report_with(client, {})
    ok(client, inc, cast.disp, "escalate", note="涉及多个社区")  # community → street? see below
    first = db.execute(
        "SELECT data ->> 'to_area' AS to_area FROM incident_events WHERE action = 'escalate'"
    ).fetchone()["to_area"]
    expected = {STREET: "street@gov.example", "110199001001": "community@gov.example"}
    assert told(db, inc) == [("dispatcher", expected[first], "escalate")]
    doc = advance_to_dispatched(client, cast, inc)
    due = dt.datetime.fromisoformat(doc["due_at"])
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as wc:
        lookback = dt.timedelta(hours=24)
        assert queue_due(wc, due - dt.timedelta(seconds=1), lookback) == 0
        assert queue_due(wc, due + dt.timedelta(minutes=5), lookback) == 1
        assert queue_due(wc, due + dt.timedelta(minutes=10), lookback) == 0  # told once
        assert queue_due(wc, due + dt.timedelta(days=2), lookback) == 0
    due_rows = [r for r in rows(db, inc) if r["payload"]["kind"] == "due"]
    assert [(r["rule"], r["address"]) for r in due_rows] == [
        ("dispatcher", expected[doc["responsible_area"]["code"]])
    ]


def advance_to_dispatched(client, cast, inc):
    ok(client, inc, cast.district, "register")
    return ok(client, inc, cast.district, "dispatch")


def test_officers_are_told_when_a_case_in_their_grid_needs_verifying(client, cast, db):
    subscribe(db, "officers", G1, email="g1@gov.example")
    subscribe(db, "officers", G2, email="g2@gov.example")
    inc = report_with(client, {})
    advance_to(client, cast, inc, "in_progress")
    assert told(db, inc) == []
    ok(client, inc, cast.dept, "handle", note="清运完毕")
    assert told(db, inc) == [("officer", "g1@gov.example", "handle")]
    ok(client, inc, cast.officer, "verify", data={"passed": False})  # rework: not verification
    assert len(told(db, inc)) == 1


@pytest.mark.parametrize("inactive", [True])
def test_inactive_subscribers_are_not_told(client, cast, db, inactive):
    sub = subscribe(db, "department", "CITYMGMT-001", email="cm@gov.example")
    db.execute("UPDATE notify_subscribers SET active = false WHERE id = %s", (sub,))
    db.commit()
    inc = report_with(client, {})
    advance_to(client, cast, inc, "dispatched")
    assert told(db, inc) == []
    assert act(client, inc, cast.dept, "accept").status_code == 200
