"""吹哨报到: POST /incidents/{id}/whistle, POST /whistles/{id}/check-in, GET /whistles."""

from __future__ import annotations

import datetime as dt

from tests.loop import SH, advance_to, at, get, ok, report, steps

T0 = dt.datetime(2035, 11, 5, 10, 0, tzinfo=SH)


def whistle(client, incident, headers, **body):
    body.setdefault("departments", ["WATER", "SANITATION"])
    return client.post(f"/api/v1/incidents/{incident}/whistle", json=body, headers=headers)


def check_in(client, whistle_id, headers, **body):
    return client.post(
        f"/api/v1/whistles/{whistle_id}/check-in", json=body or None, headers=headers
    )


def open_ids(client, headers, **params):
    r = client.get("/api/v1/whistles", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [w["id"] for w in r.json()["whistles"]]


def test_whistle_with_one_on_time_and_one_late_check_in(world, cast, clock):
    inc = report(world)
    advance_to(world, cast, inc, "dispatched")
    r = whistle(world, inc, cast.disp, note="多部门联合处置")
    assert r.status_code == 201, r.text
    w = r.json()
    assert (w["incident"], w["deadline_minutes"], w["open"]) == (inc, 30, True)
    assert at(w["called_at"]) == T0 and at(w["deadline_at"]) == T0 + dt.timedelta(minutes=30)
    assert [(c["department"], c["state"]) for c in w["check_ins"]] == [
        ("SANITATION", "pending"),
        ("WATER", "pending"),
    ]
    assert get(world, inc, cast.water)["allowed_actions"] == ["check_in"]
    assert open_ids(world, cast.disp, open="true") == [w["id"]]
    assert open_ids(world, cast.water, open="true") == [w["id"]]  # summoned: it sees it
    assert open_ids(world, cast.other_disp) == []  # another street's dispatcher does not

    clock.advance(minutes=10)
    r = check_in(world, w["id"], cast.water)
    assert r.status_code == 200, r.text
    water = next(c for c in r.json()["check_ins"] if c["department"] == "WATER")
    assert (water["state"], water["late"], water["checked_in_by"]) == ("on_time", False, "water")
    assert at(water["checked_in_at"]) == clock.now
    again = check_in(world, w["id"], cast.water)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    clock.advance(minutes=35)  # 45 minutes after the call, 15 past the deadline
    r = check_in(world, w["id"], cast.sanitation)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["department"], c["state"], c["late"]) for c in body["check_ins"]] == [
        ("SANITATION", "late", True),
        ("WATER", "on_time", False),
    ]
    assert body["open"] is False
    assert open_ids(world, cast.disp, open="true") == []
    assert open_ids(world, cast.disp, open="false") == [w["id"]]
    # the incident is still open: incident_open filters on the case, not on the check-ins
    assert open_ids(world, cast.disp, incident_open="true") == [w["id"]]
    assert open_ids(world, cast.disp, incident_open="false") == []

    doc = get(world, inc, cast.disp)
    assert [x["id"] for x in doc["whistles"]] == [w["id"]]
    assert doc["whistles"][0]["check_ins"] == body["check_ins"]
    assert doc["status"] == "dispatched"  # whistles do not move the status
    assert steps(doc)[-3:] == [
        ("whistle", "dispatched", "dispatched", None, "disp"),
        ("check_in", "dispatched", "dispatched", "WATER", "water"),
        ("check_in", "dispatched", "dispatched", "SANITATION", "san"),
    ]
    assert [e["data"] for e in doc["events"][-2:]] == [
        {"whistle_id": w["id"], "late": False, "minutes_after_call": 10.0},
        {"whistle_id": w["id"], "late": True, "minutes_after_call": 45.0},
    ]
    assert get(world, inc)["whistles"][0]["called_by"] is None  # public view: no names


def test_whistle_refusals(world, cast, clock, db):
    inc = report(world)
    before = db.execute("SELECT count(*) AS n FROM whistles").fetchone()["n"]
    cases = [
        (cast.officer, {}, 403, "forbidden"),
        (cast.dept, {}, 403, "forbidden"),
        (cast.community_disp, {}, 403, "forbidden"),  # a community is not a street or district
        (cast.other_disp, {}, 403, "forbidden"),  # another street
        (cast.disp, {"departments": ["NOPE"]}, 422, "validation_failed"),
        (cast.disp, {"departments": []}, 422, "validation_failed"),
        (cast.disp, {"deadline_minutes": 0}, 422, "validation_failed"),
        (cast.disp, {"departments": ["WATER", "WATER"]}, 400, "bad_request"),
        ({}, {}, 401, "unauthorized"),
    ]
    for headers, body, status, code in cases:
        r = whistle(world, inc, headers, **body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    assert db.execute("SELECT count(*) AS n FROM whistles").fetchone()["n"] == before

    w = whistle(world, inc, cast.district, departments=["WATER"], deadline_minutes=15).json()
    assert w["deadline_minutes"] == 15
    for headers, body, status in [
        (cast.sanitation, {}, 403),  # not summoned
        (cast.officer, {}, 403),
        (cast.water, {"department": "SANITATION"}, 403),  # only for its own department
        (cast.admin, {}, 422),  # an admin names the department
    ]:
        assert check_in(world, w["id"], headers, **body).status_code == status
    assert check_in(world, 999999, cast.water).status_code == 404
    assert check_in(world, w["id"], cast.admin, department="WATER").status_code == 200

    advance_to(world, cast, inc, "rejected")
    r = whistle(world, inc, cast.disp)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert world.get("/api/v1/whistles", headers=cast.resident).status_code == 403


def test_whistles_filtered_by_their_case_being_open(world, cast, clock):
    inc = report(world)
    advance_to(world, cast, inc, "dispatched")
    w = whistle(world, inc, cast.disp).json()
    # the dispatch console's question: open whistles on open cases
    assert open_ids(world, cast.disp, open="true", incident_open="true") == [w["id"]]
    assert open_ids(world, cast.disp, incident_open="false") == []
    for who, action, body in (
        (cast.dept, "accept", {}),
        (cast.dept, "handle", {"note": "清运完毕"}),
        (cast.officer, "verify", {"data": {"passed": True}}),
    ):
        ok(world, inc, who, action, **body)
    assert get(world, inc, cast.disp)["status"] == "closed"
    # nobody reported in, yet the whistle ended with its case (issue 17)
    assert open_ids(world, cast.disp, open="true") == []
    assert open_ids(world, cast.disp, open="true", incident_open="true") == []
    assert open_ids(world, cast.disp, open="false", incident_open="false") == [w["id"]]
    assert open_ids(world, cast.disp, incident_open="true") == []
