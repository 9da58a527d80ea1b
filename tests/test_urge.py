"""督办/催办: the urge action over HTTP, and its counts in the evaluation (docs/metrics.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.evaluation_week import at
from tests.loop import act, advance_to, get, ok, report
from tests.notify_util import notify_client, notify_settings


@pytest.fixture
def client(world_db):
    yield from notify_client(notify_settings(world_db))


def urge_count(db, incident):
    db.commit()
    return db.execute(
        "SELECT i.urge_count, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id "
        "AND e.action = 'urge') AS events FROM incidents i WHERE public_id = %s",
        (incident,),
    ).fetchone()


def test_urge_needs_a_reason_a_level_and_a_dispatcher_over_the_case(client, cast, db):
    inc = report(client)
    r = act(client, inc, cast.disp, "urge", note="请尽快")
    assert r.status_code == 409  # nobody to urge before it is dispatched
    advance_to(client, cast, inc, "dispatched")
    refusals = [
        (cast.disp, {}, 422, "note"),
        (cast.disp, {"note": "  "}, 422, "note"),
        (cast.disp, {"note": "请尽快", "data": {"level": "加急"}}, 422, "data.level"),
        (cast.disp, {"note": "请尽快", "data": {"levels": "督办"}}, 422, "data.levels"),
        (cast.dept, {"note": "请尽快"}, 403, None),
        (cast.other_disp, {"note": "请尽快"}, 403, None),
        (cast.officer, {"note": "请尽快"}, 403, None),
        (cast.resident, {"note": "请尽快"}, 403, None),
    ]
    for who, body, status, field in refusals:
        r = act(client, inc, who, "urge", **body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["error"]["details"]["problems"][0]["field"] == field
    assert dict(urge_count(db, inc)) == {"urge_count": 0, "events": 0}
    doc = ok(client, inc, cast.disp, "urge", note="群众反映强烈")
    assert doc["urge_count"] == 1 and doc["status"] == "dispatched"
    ok(client, inc, cast.dept, "accept")
    doc = ok(client, inc, cast.district, "urge", note="区领导督办", data={"level": "督办"})
    assert doc["urge_count"] == 2 and doc["status"] == "in_progress"
    urges = [e for e in doc["events"] if e["action"] == "urge"]
    assert [(e["data"]["level"], e["data"]["urge_count"], e["department"]) for e in urges] == [
        ("催办", 1, "CITYMGMT-001"),
        ("督办", 2, "CITYMGMT-001"),
    ]
    assert "urge" in get(client, inc, cast.disp)["allowed_actions"]
    assert "urge" not in get(client, inc, cast.dept)["allowed_actions"]
    ok(client, inc, cast.dept, "handle", note="已清运")
    assert act(client, inc, cast.disp, "urge", note="再催").status_code == 409
    assert dict(urge_count(db, inc)) == {"urge_count": 2, "events": 2}


def build_urges(client, cast):
    """The worked example of docs/metrics.md, "督办 — urging": cases U1–U4."""
    clock = client.app.state.clock
    ids = {}

    def step(when, letter, who, action, **body):
        clock.now = when
        ok(client, ids[letter], who, action, **body)

    last_week = dt.timedelta(days=4)  # U4 was reported and urged on Thursday 2025-10-30
    for letter in ("U1", "U2", "U3", "U4"):
        clock.now = at(3, 9) - (last_week if letter == "U4" else dt.timedelta(0))
        ids[letter] = report(client)
        step(clock.now, letter, cast.disp, "register")
        dept = {"department": "WATER"} if letter == "U2" else {}
        step(clock.now, letter, cast.disp, "dispatch", **dept)
    step(at(4, 10), "U1", cast.disp, "urge", note="催一次")
    step(at(5, 10), "U1", cast.district, "urge", note="区督办", data={"level": "督办"})
    step(at(6, 10), "U1", cast.dept, "accept")
    step(at(6, 11), "U1", cast.dept, "handle", note="已处置")
    step(at(6, 12), "U1", cast.officer, "verify", data={"passed": True})
    step(at(7, 10), "U2", cast.disp, "urge", note="请加快")
    for letter in ("U3", "U4"):
        if letter == "U4":
            step(at(3, 10) - last_week, letter, cast.disp, "urge", note="上周催办")
        step(at(4, 9), letter, cast.dept, "accept")
        step(at(4, 10), letter, cast.dept, "handle", note="已处置")
        step(at(4, 11), letter, cast.officer, "verify", data={"passed": True})
    clock.now = at(12, 12)
    return ids


def test_urge_counts_in_the_evaluation_worked_example(client, cast):
    build_urges(client, cast)
    period = {"from": "2025-11-03", "to": "2025-11-09"}
    r = client.get("/api/v1/stats", params={**period, "group_by": "department"}, headers=cast.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    keys = ("urges", "urged", "closed_urged")
    got = {row["code"]: tuple(row[k] for k in keys) for row in doc["rows"]}
    assert got["CITYMGMT-001"] == (2, 1, 2)
    assert got["WATER"] == (1, 1, 0)
    assert tuple(doc["total"][k] for k in keys) == (3, 2, 2)
    labels = {m["key"]: m["label"] for m in doc["metrics"]}
    assert labels["urged"].startswith("督办件数")
    # The week before: U4's urge only.
    r = client.get(
        "/api/v1/stats", params={"from": "2025-10-27", "to": "2025-11-02"}, headers=cast.admin
    )
    assert tuple(r.json()["total"][k] for k in keys) == (1, 1, 0)
    # The street dispatcher sees the same totals (all four are in street 甲); street 乙 none.
    r = client.get("/api/v1/stats", params=period, headers=cast.other_disp)
    assert tuple(r.json()["total"][k] for k in keys) == (0, 0, 0)
    r = client.get("/api/v1/stats", params={**period, "format": "csv"}, headers=cast.admin)
    table = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    column = table[0].index("督办件数")  # the header in the caller's language: zh_CN by default
    assert table[-1][column] == "2"
