"""Side paths of the loop: escalation, joint handling, extensions, suspension, return, overdue."""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from psycopg.rows import dict_row

from api.errors import InvalidTransition
from api.schemas.workflow import ActionIn
from api.services.identity.auth import User
from api.services.workflow.actions import apply_action
from tests.conftest import settings_for
from tests.loop import (
    COMMUNITY,
    DISTRICT,
    G1,
    SH,
    STREET,
    Clock,
    act,
    advance_to,
    at,
    get,
    make_cast,
    ok,
    report,
    steps,
)

T0 = dt.datetime(2035, 11, 5, 10, 0, tzinfo=SH)  # a Monday in the future (overdue uses now())


def test_escalation_chain_grid_community_street_district(world, cast, clock):
    inc = report(world)
    assert get(world, inc)["responsible_area"]["code"] == G1
    chain = []
    for who in ("community_disp", "disp", "disp"):
        doc = ok(world, inc, getattr(cast, who), "escalate", note="超出本级处置能力")
        chain.append((doc["responsible_area"]["code"], doc["responsible_area"]["level"]))
    assert chain == [(COMMUNITY, "community"), (STREET, "street"), (DISTRICT, "district")]
    assert doc["escalation_level"] == 3 and doc["status"] == "reported"
    assert [e["data"] for e in doc["events"] if e["action"] == "escalate"] == [
        {"from_area": G1, "to_area": COMMUNITY, "to_level": "community", "escalation_level": 1},
        {"from_area": COMMUNITY, "to_area": STREET, "to_level": "street", "escalation_level": 2},
        {"from_area": STREET, "to_area": DISTRICT, "to_level": "district", "escalation_level": 3},
    ]
    # Responsibility left the street: its dispatcher no longer acts, the district's does.
    assert get(world, inc, cast.disp)["allowed_actions"] == []
    assert act(world, inc, cast.disp, "register").status_code == 403
    r = act(world, inc, cast.district, "escalate", note="再上报")
    assert r.status_code == 409
    assert "top of the area hierarchy" in r.json()["error"]["message"]
    assert "escalate" not in r.json()["error"]["details"]["allowed"]
    assert ok(world, inc, cast.district, "register")["status"] == "registered"


def test_joint_handling_closes_when_the_lead_handles_and_it_is_verified(world, cast, clock):
    inc = report(world)
    advance_to(world, cast, inc, "registered")
    doc = ok(
        world,
        inc,
        cast.disp,
        "dispatch",
        department="CITYMGMT-001",
        data={"supporting": ["WATER", "SANITATION"]},
    )
    assert doc["departments"]["lead"] == "CITYMGMT-001"
    assert [(d["code"], d["acknowledged_at"]) for d in doc["departments"]["supporting"]] == [
        ("SANITATION", None),
        ("WATER", None),
    ]
    assert doc["events"][-1]["data"]["supporting"] == ["WATER", "SANITATION"]
    assert get(world, inc, cast.water)["allowed_actions"] == ["acknowledge"]
    clock.advance(minutes=3)
    doc = ok(world, inc, cast.water, "acknowledge", note="已派员")
    assert steps(doc)[-1] == ("acknowledge", "dispatched", "dispatched", "WATER", "water")
    water = next(d for d in doc["departments"]["supporting"] if d["code"] == "WATER")
    assert at(water["acknowledged_at"]) == clock.now and water["acknowledged_by"] == "water"
    again = act(world, inc, cast.water, "acknowledge")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert act(world, inc, cast.sanitation, "accept").status_code == 403  # only the lead
    ok(world, inc, cast.dept, "accept")
    ok(world, inc, cast.dept, "handle", note="联合处置完毕")
    doc = ok(world, inc, cast.officer, "verify", data={"passed": True})
    assert doc["status"] == "closed"
    sanitation = next(d for d in doc["departments"]["supporting"] if d["code"] == "SANITATION")
    assert sanitation["acknowledged_at"] is None  # recorded as never acknowledged


def test_extension_and_suspension_move_the_deadline(world, cast, clock):
    inc = report(world, category="BJ0101")  # 6 natural hours
    doc = advance_to(world, cast, inc, "dispatched")
    due = T0 + dt.timedelta(hours=6)
    assert at(doc["due_at"]) == due
    until = T0 + dt.timedelta(hours=30)
    doc = ok(
        world,
        inc,
        cast.water,
        "request_extension",
        note="需要更换井盖，备件明天到",
        data={"until": until.isoformat()},
    )
    assert at(doc["extension_request"]["until"]) == until and at(doc["due_at"]) == due
    assert "approve_extension" in get(world, inc, cast.disp)["allowed_actions"]
    r = act(
        world, inc, cast.water, "request_extension", note="再延", data={"until": until.isoformat()}
    )
    assert r.status_code == 409
    doc = ok(world, inc, cast.disp, "approve_extension")
    assert at(doc["due_at"]) == until and doc["extension_request"] is None
    data = doc["events"][-1]["data"]
    assert data["approved"] is True and at(data["previous_due_at"]) == due
    assert at(data["due_at"]) == until

    # A refused request leaves the deadline alone.
    ok(
        world,
        inc,
        cast.water,
        "request_extension",
        note="x",
        data={"until": (until + dt.timedelta(days=3)).isoformat()},
    )
    doc = ok(world, inc, cast.disp, "approve_extension", data={"approved": False})
    assert at(doc["due_at"]) == until and doc["events"][-1]["data"]["approved"] is False

    # 挂账 pauses the clock: 29 hours were left at suspension, so 29 hours are left on reopen.
    clock.advance(hours=1)
    doc = ok(world, inc, cast.disp, "suspend", note="等待产权单位确认")
    assert doc["status"] == "suspended" and doc["due_at"] is None
    assert doc["suspended_from"] == "dispatched" and doc["overdue"] is False
    assert doc["events"][-1]["data"] == {"due_left_s": 29 * 3600.0}
    assert get(world, inc, cast.disp)["allowed_actions"] == ["reopen"]
    clock.advance(days=10)
    doc = ok(world, inc, cast.disp, "reopen")
    assert doc["status"] == "dispatched" and doc["suspended_from"] is None
    assert at(doc["due_at"]) == clock.now + dt.timedelta(hours=29)


def test_return_goes_back_to_the_dispatcher_for_redispatch(world, cast, clock):
    inc = report(world)
    advance_to(world, cast, inc, "dispatched")
    r = act(world, inc, cast.dept, "return")
    assert r.status_code == 422  # a reason is required
    doc = ok(world, inc, cast.dept, "return", note="不属于本单位职责")
    assert doc["status"] == "registered" and doc["due_at"] is None
    assert doc["departments"]["lead"] is None
    assert steps(doc)[-1] == ("return", "dispatched", "registered", "CITYMGMT-001", "cm")
    assert get(world, inc, cast.dept)["allowed_actions"] == []
    doc = ok(world, inc, cast.disp, "dispatch", department="SANITATION")
    assert doc["departments"]["lead"] == "SANITATION" and doc["status"] == "dispatched"
    assert get(world, inc, cast.sanitation)["allowed_actions"] == [
        "accept",
        "return",
        "request_extension",
    ]


def test_reject_as_duplicate_links_the_original(world, cast, clock, db):
    first = report(world)
    second = report(world)
    doc = ok(
        world,
        second,
        cast.disp,
        "reject",
        note="重复上报",
        data={"reason": "duplicate", "duplicate_of": first},
    )
    assert doc["status"] == "rejected" and at(doc["closed_at"]) == clock.now
    assert doc["events"][-1]["data"] == {"reason": "duplicate", "duplicate_of": first}
    r = act(
        world, second, cast.disp, "reject", data={"reason": "duplicate", "duplicate_of": second}
    )
    assert r.status_code == 409  # already rejected: the state decides first


def test_reporter_adds_information_and_officer_self_handles(world, cast, clock):
    inc = report(world, headers=cast.resident)
    doc = ok(
        world,
        inc,
        cast.resident,
        "add_info",
        note="垃圾越堆越多",
        data={"photos": ["https://x.example/1.jpg"]},
    )
    assert steps(doc)[-1] == ("add_info", "reported", "reported", None, "res")
    assert act(world, inc, cast.neighbour, "add_info", note="x").status_code == 403
    doc = ok(world, inc, cast.officer, "self_handle", note="已现场清理")
    assert doc["status"] == "handled" and doc["departments"]["lead"] is None
    doc = ok(world, inc, cast.officer, "verify", data={"passed": True})
    assert doc["status"] == "closed"
    assert act(world, inc, cast.resident, "add_info", note="谢谢").status_code == 409


def test_overdue_filter(world, cast):
    world.app.state.clock = Clock(dt.datetime(2020, 1, 6, 10, 0, tzinfo=SH))  # long past
    late = report(world, category="BJ0101")
    advance_to(world, cast, late, "dispatched")
    fresh = report(world)
    assert get(world, late)["overdue"] is True and get(world, fresh)["overdue"] is False

    def ids(**params):
        r = world.get("/api/v1/incidents", params=params, headers=cast.disp)
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]]

    assert ids(overdue="true") == [late]
    assert ids(overdue="false") == [fresh]
    assert ids() == [late, fresh]
    ok(world, late, cast.water, "accept")
    ok(world, late, cast.water, "handle", note="done")
    ok(world, late, cast.officer, "verify", data={"passed": True})
    assert ids(overdue="true") == []  # closed cases are never overdue


def test_due_at_via_the_api_across_a_weekend_and_a_holiday(world_db, token_for):
    from fastapi.testclient import TestClient

    from api.main import create_app

    settings = settings_for(world_db)
    settings.calendar.holidays = [dt.date(2035, 11, 12)]  # the Monday after
    with TestClient(create_app(settings)) as client:
        cast = make_cast(token_for)
        # Friday 15:00 + 1 working day: 2 h Friday, weekend and holiday skipped, 6 h Tuesday.
        client.app.state.clock = Clock(dt.datetime(2035, 11, 9, 15, 0, tzinfo=SH))
        inc = report(client)
        doc = advance_to(client, cast, inc, "dispatched")
        assert at(doc["due_at"]) == dt.datetime(2035, 11, 13, 15, 0, tzinfo=SH)


def test_concurrent_actions_cannot_both_apply(world, world_db, cast):
    """Two dispatchers register the same incident at once: the row lock lets exactly one win."""
    inc = report(world)
    settings = settings_for(world_db)
    dispatcher = User(0, "disp", "dispatcher", STREET, None)
    now = dt.datetime.now(dt.UTC)
    body = ActionIn(action="register")
    outcome: list[str] = []

    def second() -> None:
        with psycopg.connect(world_db, row_factory=dict_row) as conn:
            try:
                apply_action(conn, settings, dispatcher, inc, body, now)
                outcome.append("applied")
            except InvalidTransition:
                outcome.append("refused")

    thread = threading.Thread(target=second)
    with psycopg.connect(world_db, row_factory=dict_row) as first:
        with first.transaction():  # holds the row lock until this block commits
            apply_action(first, settings, dispatcher, inc, body, now)
            thread.start()
            # Commit only once the second transaction is waiting for the row lock.
            with psycopg.connect(world_db, autocommit=True) as watch:
                for _ in range(500):
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    ).fetchone()
                    if waiting and waiting[0]:
                        break
                    threading.Event().wait(0.02)
                else:
                    pytest.fail("the second action never waited for the row lock")
        thread.join(timeout=30)
    assert outcome == ["refused"]
    doc = get(world, inc, cast.disp)
    assert [e["action"] for e in doc["events"]] == ["report", "register"]
