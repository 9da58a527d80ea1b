"""The reporter's view: public outcome, my reports, lookup by contact, and the 回访 rating."""

from __future__ import annotations

import pytest

from tests.loop import advance_to, ok, report
from tests.notify_util import notify_client, notify_settings
from tests.test_notify import report_with, rows, subscribe


@pytest.fixture
def settings(world_db):
    s = notify_settings(world_db)
    s.limits.login_burst = 1000  # these tests check many contacts from one address
    return s


@pytest.fixture
def client(settings):
    yield from notify_client(settings)


def outcome(client, incident):
    r = client.get(f"/api/v1/reports/{incident}")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_reporter_view_hides_internal_steps(client, cast):
    inc = report_with(client, {"name": "张三", "phone": "138 0000 0000", "email": "z@example.cn"})
    ok(client, inc, cast.disp, "register")
    ok(client, inc, cast.disp, "dispatch", note="派城管，内部备注")
    r = client.post(
        f"/api/v1/incidents/{inc}/whistle",
        json={"departments": ["WATER"], "deadline_minutes": 30},
        headers=cast.disp,
    )
    assert r.status_code == 201
    ok(client, inc, cast.disp, "urge", note="内部督办理由")
    ok(client, inc, cast.dept, "return", note="不归我们管")
    ok(client, inc, cast.disp, "dispatch")
    doc = outcome(client, inc)
    assert doc["status"] == "dispatched" and doc["status_text"] == "已派给承办部门"
    assert doc["due_at"] is not None and doc["closed_at"] is None
    assert [s["action"] for s in doc["steps"]] == ["report", "register", "dispatch", "dispatch"]
    text = str(doc)
    for secret in (
        "张三",
        "138",
        "z@example.cn",
        "内部",
        "不归我们管",
        "'actor'",
        "CITYMGMT",
        "WATER",
    ):
        assert secret not in text, secret
    ok(client, inc, cast.dept, "accept")
    ok(client, inc, cast.dept, "handle", note="已清运，路面冲洗干净")
    ok(client, inc, cast.officer, "verify", data={"passed": True})
    doc = outcome(client, inc)
    assert doc["status_text"] == "已结案"  # the status page's words for the status
    assert [s["action_text"] for s in doc["steps"]][-2:] == ["已处置", "核查"]
    # in English when asked, the data the same
    r = client.get(f"/api/v1/reports/{inc}", headers={"Accept-Language": "en"})
    english = r.json()
    assert english["status_text"] == "Closed"
    assert [s["action_text"] for s in english["steps"]][-2:] == ["Handled", "Verified"]
    words = {"status_text", "action_text"}
    plain = lambda d: {  # noqa: E731
        k: [{x: y for x, y in s.items() if x not in words} for s in v] if k == "steps" else v
        for k, v in d.items()
        if k not in words
    }
    assert plain(english) == plain(doc)
    assert doc["handling_note"] == "已清运，路面冲洗干净"
    assert doc["closed_at"] is not None and doc["due_at"] is None and doc["rejected_at"] is None
    assert doc["can_rate"] is True and doc["rating"] is None
    assert client.get("/api/v1/reports/NOPE-1").status_code == 404


def test_a_rejected_report_says_why_and_when_not_closed(client, cast):
    original = report(client)
    dup = report(client)
    doc = ok(
        client, dup, cast.disp, "reject", data={"reason": "duplicate", "duplicate_of": original}
    )
    view = outcome(client, dup)
    assert view["status_text"] == "未予受理"
    assert view["closed_at"] is None and view["rejected_at"] is not None
    assert view["rejected_at"] == [e["at"] for e in doc["events"] if e["action"] == "reject"][0]
    assert view["rejection"] == {
        "reason": "duplicate",
        "reason_text": "与已受理的问题重复，请关注原问题的进度",
        "note": None,
        "duplicate_of": original,
        "duplicate_url": f"/report/{original}",
    }
    assert view["can_rate"] is False
    invalid = report(client)
    ok(client, invalid, cast.disp, "reject", note="不在本辖区", data={"reason": "invalid"})
    view = outcome(client, invalid)
    assert view["rejection"]["reason_text"] == "经核实，不属于可受理的问题"
    assert view["rejection"]["note"] == "不在本辖区"
    # Open311 GET: the reason in words and the original, not the last internal step.
    r = client.get(f"/open311/v2/requests/{dup}.json")
    assert r.status_code == 200, r.text
    (req,) = r.json()
    assert req["status"] == "closed"
    assert req["status_notes"] == f"与已受理的问题重复，请关注原问题的进度（原问题：{original}）"
    # in the app's language when it asks (Accept-Language), as the status page has it
    r = client.get(f"/open311/v2/requests/{dup}.json", headers={"Accept-Language": "en"})
    assert r.json()[0]["status_notes"] == (
        "A duplicate of a report already accepted; follow the original instead "
        f"(original request: {original})"
    )


def test_open311_notes_skip_internal_steps_after_the_public_one(client, cast):
    inc = report(client)
    advance_to(client, cast, inc, "in_progress")
    ok(client, inc, cast.disp, "urge", note="内部督办理由")
    (req,) = client.get(f"/open311/v2/requests/{inc}.json").json()
    assert "内部" not in req["status_notes"]
    assert req["expected_datetime"] is not None


def test_my_reports_and_the_lookup(client, cast):
    mine = report_with(client, {"phone": "+86 138-0000-0001"})
    r = client.post(
        "/api/v1/incidents",
        json={"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}},
        headers=cast.resident,
    )
    signed = r.json()["id"]
    r = client.get("/api/v1/reports/mine", headers=cast.resident)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["reports"]] == [signed]
    assert client.get("/api/v1/reports/mine", headers=cast.neighbour).json()["reports"] == []
    assert client.get("/api/v1/reports/mine").status_code == 401
    found = client.post("/api/v1/reports/lookup", json={"id": mine, "contact": "13800000001"})
    assert found.status_code == 200, found.text
    assert found.json()["id"] == mine and found.json()["reporter_verified"] is True
    for body in (
        {"id": mine, "contact": "13800000002"},
        {"id": "NOPE-1", "contact": "13800000001"},
        {"id": signed, "contact": "13800000001"},
    ):
        r = client.post("/api/v1/reports/lookup", json=body)
        assert r.status_code == 404
        assert r.json()["error"]["message"] == "没有与此查询编号及电话或邮箱相符的上报。"
    assert client.post("/api/v1/reports/lookup", json={"id": mine}).status_code == 422


def test_rating_once(client, cast, db):
    inc = report_with(client, {"email": "Z@Example.cn"})
    r = client.post(
        f"/api/v1/reports/{inc}/rating", json={"rating": "satisfied", "contact": "z@example.cn"}
    )
    assert r.status_code == 409  # not closed yet
    advance_to(client, cast, inc, "closed")
    refusals = [
        ({"rating": "satisfied"}, None, 403),
        ({"rating": "satisfied", "contact": "y@example.cn"}, None, 403),
        ({"rating": "satisfied"}, cast.neighbour, 403),
        ({"rating": "satisfied"}, cast.dept, 403),
        ({"rating": "satisfied"}, cast.other_disp, 403),
        ({"rating": "great", "contact": "z@example.cn"}, None, 422),
        ({"rating": "satisfied", "contact": "z@example.cn", "x": 1}, None, 422),
    ]
    for body, who, status in refusals:
        r = client.post(f"/api/v1/reports/{inc}/rating", json=body, headers=who or {})
        assert r.status_code == status, (body, r.text)
    db.commit()
    assert db.execute("SELECT count(*) AS n FROM incident_ratings").fetchone()["n"] == 0
    r = client.post(
        f"/api/v1/reports/{inc}/rating",
        json={"rating": "basically_satisfied", "comment": "还行", "contact": "z@example.cn"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rating"]["rating_text"] == "基本满意"
    assert r.json()["can_rate"] is False
    again = client.post(
        f"/api/v1/reports/{inc}/rating", json={"rating": "unsatisfied", "contact": "z@example.cn"}
    )
    assert again.status_code == 409
    phone = client.post(
        f"/api/v1/reports/{inc}/rating", json={"rating": "satisfied"}, headers=cast.disp
    )
    assert phone.status_code == 409
    db.commit()
    row = db.execute(
        "SELECT rating, comment, channel, recorded_by FROM incident_ratings"
    ).fetchone()
    assert dict(row) == {
        "rating": "basically_satisfied",
        "comment": "还行",
        "channel": "reporter",
        "recorded_by": None,
    }
    assert outcome(client, inc)["steps"][-1]["action"] == "rate"


def test_phone_follow_up_and_unsatisfied_reopens_when_set(client, cast, db, settings):
    inc = report(client)
    advance_to(client, cast, inc, "closed")
    r = client.post(
        f"/api/v1/reports/{inc}/rating", json={"rating": "unsatisfied"}, headers=cast.disp
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"  # the setting is off: stays closed
    db.commit()
    assert db.execute("SELECT channel, recorded_by FROM incident_ratings").fetchone() == {
        "channel": "phone",
        "recorded_by": "disp",
    }
    settings.followup.reopen_unsatisfied = True
    area = db.execute(
        "SELECT responsible_area_code AS a FROM incidents WHERE public_id = %s", (inc,)
    ).fetchone()["a"]
    subscribe(db, "dispatchers", area, email="centre@gov.example")
    signed = client.post(
        "/api/v1/incidents",
        json={"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}},
        headers=cast.resident,
    ).json()["id"]
    advance_to(client, cast, signed, "closed")
    r = client.post(
        f"/api/v1/reports/{signed}/rating",
        json={"rating": "unsatisfied", "comment": "垃圾又堆起来了"},
        headers=cast.resident,
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "registered" and doc["closed_at"] is None
    assert [s["action"] for s in doc["steps"]][-2:] == ["rate", "review"]
    # The command centre is told, and dispatches it again.
    told = rows(db, signed)
    assert [(r["rule"], r["address"], r["event_action"]) for r in told] == [
        ("dispatcher", "centre@gov.example", "review")
    ]
    assert ok(client, signed, cast.disp, "dispatch")["status"] == "dispatched"


def test_contact_checks_are_rate_limited_like_sign_in(world):
    body = {"id": "20261204-000001", "contact": "13800000000"}
    answers = [world.post("/api/v1/reports/lookup", json=body).status_code for _ in range(11)]
    assert answers == [404] * 10 + [429]
    r = world.post("/api/v1/reports/X/rating", json={"rating": "satisfied"})
    assert r.status_code == 429 and r.json()["error"]["details"]["limit"] == "login"
