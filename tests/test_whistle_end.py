"""Whistles end with their case (closed, rejected) or when a dispatcher withdraws them (撤哨).

Summonses still pending at the end become `cancelled`; those already past their deadline stay
`missing`; nobody can report in to an ended whistle, and an ended whistle is not open.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.loop import SH, Clock, advance_to, get, make_cast, ok, report

T0 = dt.datetime(2035, 11, 6, 9, 0, tzinfo=SH)


@pytest.fixture
def cast(token_for):
    return make_cast(token_for)


@pytest.fixture
def clock(world):
    c = Clock(T0)
    world.app.state.clock = c
    return c


def whistle(client, incident, headers, **body):
    body.setdefault("departments", ["WATER", "SANITATION"])
    r = client.post(f"/api/v1/incidents/{incident}/whistle", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def states(w):
    return [(k["department"], k["state"]) for k in w["check_ins"]]


def withdraw(client, whistle_id, headers, **body):
    return client.post(
        f"/api/v1/whistles/{whistle_id}/withdraw", json=body or None, headers=headers
    )


def test_closing_the_case_ends_its_whistle_and_cancels_pending_summonses(world, cast, clock):
    inc = report(world)
    advance_to(world, cast, inc, "dispatched")
    w = whistle(world, inc, cast.disp)
    clock.advance(minutes=5)
    assert world.post(f"/api/v1/whistles/{w['id']}/check-in", headers=cast.water).status_code == 200
    assert "check_in" in get(world, inc, cast.sanitation)["allowed_actions"]
    for who, action, body in [
        (cast.dept, "accept", {}),
        (cast.dept, "handle", {"note": "清运完毕"}),
        (cast.officer, "verify", {"data": {"passed": True}}),
    ]:
        clock.advance(minutes=1)
        ok(world, inc, who, action, **body)
    doc = get(world, inc, cast.disp)
    assert doc["status"] == "closed"
    [ended] = doc["whistles"]
    assert (ended["open"], ended["end_reason"], ended["ended_by"]) == (False, "closed", "off")
    assert dt.datetime.fromisoformat(ended["ended_at"]) == clock.now
    assert states(ended) == [("SANITATION", "cancelled"), ("WATER", "on_time")]
    verify = doc["events"][-1]
    assert verify["action"] == "verify"
    assert verify["data"]["whistles_ended"] == {str(w["id"]): ["SANITATION"]}
    # the cancelled summons cannot be answered any more, and nobody is asked to
    assert "check_in" not in get(world, inc, cast.sanitation)["allowed_actions"]
    r = world.post(f"/api/v1/whistles/{w['id']}/check-in", headers=cast.sanitation)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    listed = world.get("/api/v1/whistles", params={"open": "true"}, headers=cast.disp).json()
    assert listed["whistles"] == []


def test_rejecting_ends_the_whistle_and_a_missed_deadline_stays_missing(world, cast, clock, db):
    inc = report(world)
    w = whistle(world, inc, cast.disp, departments=["WATER"], deadline_minutes=10)
    clock.advance(minutes=30)  # WATER missed its deadline before the case was rejected
    advance_to(world, cast, inc, "rejected")
    [ended] = get(world, inc, cast.disp)["whistles"]
    assert (ended["id"], ended["end_reason"], states(ended)) == (
        w["id"],
        "rejected",
        [("WATER", "missing")],
    )
    row = db.execute(
        "SELECT cancelled_at FROM whistle_checkins WHERE whistle_id = %s", (w["id"],)
    ).fetchone()
    assert row["cancelled_at"] is None


def test_a_dispatcher_withdraws_a_whistle(world, cast, clock, db):
    inc = report(world)
    advance_to(world, cast, inc, "dispatched")
    first = whistle(world, inc, cast.disp)
    second = whistle(world, inc, cast.disp, departments=["WATER"])
    clock.advance(minutes=3)
    assert (
        world.post(f"/api/v1/whistles/{first['id']}/check-in", headers=cast.water).status_code
        == 200
    )

    before = db.execute("SELECT count(*) AS n FROM incident_events").fetchone()["n"]
    for headers, status, code in [
        (cast.other_disp, 403, "forbidden"),  # another street
        (cast.water, 403, "forbidden"),  # a summoned department
        (cast.officer, 403, "forbidden"),
        ({}, 401, "unauthorized"),
    ]:
        r = withdraw(world, first["id"], headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = withdraw(world, first["id"], cast.disp, note="x" * 5000)
    assert r.status_code == 422, r.text
    assert withdraw(world, 999999, cast.disp).status_code == 404
    assert db.execute("SELECT count(*) AS n FROM incident_events").fetchone()["n"] == before
    assert (
        db.execute("SELECT count(*) AS n FROM whistles WHERE ended_at IS NOT NULL").fetchone()["n"]
        == 0
    )

    clock.advance(minutes=2)
    r = withdraw(world, first["id"], cast.disp, note="已协调解决")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["open"], body["end_reason"], body["ended_by"]) == (False, "withdrawn", "disp")
    assert states(body) == [("SANITATION", "cancelled"), ("WATER", "on_time")]
    again = withdraw(world, first["id"], cast.disp)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    doc = get(world, inc, cast.disp)
    assert doc["status"] == "dispatched"  # withdrawing does not move the case
    last = doc["events"][-1]
    assert (last["action"], last["actor"], last["note"]) == (
        "withdraw_whistle",
        "disp",
        "已协调解决",
    )
    assert last["data"] == {"whistle_id": first["id"], "cancelled": ["SANITATION"]}
    # the other whistle is still open, and WATER is still asked to report in to it
    assert [(x["id"], x["open"]) for x in doc["whistles"]] == [
        (first["id"], False),
        (second["id"], True),
    ]
    assert "check_in" in get(world, inc, cast.water)["allowed_actions"]
    assert "check_in" not in get(world, inc, cast.sanitation)["allowed_actions"]


def test_withdraw_refusal_is_localised(world, cast, clock):
    inc = report(world)
    w = whistle(world, inc, cast.disp, departments=["WATER"])
    assert withdraw(world, w["id"], cast.disp).status_code == 200
    zh = withdraw(world, w["id"], {**cast.disp, "Accept-Language": "zh-CN"}).json()["error"]
    en = withdraw(world, w["id"], {**cast.disp, "Accept-Language": "en"}).json()["error"]
    assert zh["code"] == en["code"] == "conflict"
    assert en["message"] == f"Whistle {w['id']} has already ended."
    assert zh["message"] != en["message"] and str(w["id"]) in zh["message"]
