"""Open311 GeoReport v2: idempotency, same incident as the JSON door, status mapping, paging."""

from __future__ import annotations

import datetime as dt

import pytest
from psycopg.types.json import Jsonb

from tests.open311_util import (  # noqa: F401  (fixtures)
    BASE,
    G1,
    TZ,
    api_key,
    count,
    cover_form,
    covers,
    form,
    post,
    stored,
    xml,
)

pytestmark = pytest.mark.usefixtures("english")


def test_other_errors_and_the_rest_of_the_api(world, db, api_key):
    r = world.get(f"{BASE}/services.html")
    assert r.status_code == 404 and r.json() == [
        {
            "code": 404,
            "description": "Unknown format '.html': GeoReport v2 resources end in .json or .xml.",
        }
    ]
    r = world.post(f"{BASE}/requests.json", json=form(api_key))
    assert r.status_code == 400 and r.json()[0]["description"].startswith(
        "Send the service request form-encoded"
    )
    r = world.post(
        f"{BASE}/requests.json", headers={"Idempotency-Key": "k" * 201}, data=form(api_key)
    )
    assert r.status_code == 400 and r.json()[0]["code"] == 400
    assert count(db) == 0
    # the rest of the API keeps its own envelope
    r = world.get("/api/v1/incidents/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_form_in_the_query_string_and_api_key_there_too(world, api_key):
    r = world.post(f"{BASE}/requests.json", params=form(api_key))
    assert r.status_code == 201, r.text


def test_same_idempotency_key_behaves_like_the_json_api(world, db, api_key, covers):
    key = {"Idempotency-Key": "app-42"}
    first = post(world, cover_form(api_key), headers=key)
    again = post(world, cover_form(api_key), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert count(db) == 1 and count(db, "incident_events") == 1

    reused = "This Idempotency-Key was already used for a different report. Use a new key for a new report."
    other = post(world, cover_form(api_key, description="另一处"), headers=key)
    assert other.status_code == 400 and other.json() == [{"code": 400, "description": reused}]
    other = post(
        world,
        cover_form(api_key, **{"attribute[COVER_STATE]": None})
        + [("attribute[COVER_STATE]", "broken")],
        headers=key,
    )
    assert other.status_code == 400 and other.json() == [{"code": 400, "description": reused}]
    # the key is one key whatever the door: the JSON API sees it as taken too
    r = world.post(
        "/api/v1/incidents",
        json={"category": "BJ0101", "location": {"lon": 116.01, "lat": 39.02}},
        headers=key,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert count(db) == 1 and count(db, "incident_events") == 1


def test_open311_report_is_the_same_incident_as_a_json_report(world, db, api_key):
    r = post(world, list(form(api_key, description="路边暴露垃圾").items()))
    rid = r.json()[0]["service_request_id"]
    via_json = world.post(
        "/api/v1/incidents",
        json={
            "category": "SJ0102",
            "description": "路边暴露垃圾",
            "location": {"lon": 116.01, "lat": 39.02},
        },
    ).json()
    via_open311 = world.get(f"/api/v1/incidents/{rid}").json()
    assert via_open311["source"] == "open311" and via_json["source"] == "resident"
    same = ("status", "category", "description", "location", "original_location", "assignment")
    assert {k: via_open311[k] for k in same} == {k: via_json[k] for k in same}
    assert via_open311["assignment"]["grid"]["code"] == G1
    assert via_open311["assignment"]["department"]["code"] == "CITYMGMT-001"
    assert [e["action"] for e in via_open311["events"]] == ["report"]
    ev = db.execute(
        "SELECT e.actor, e.data FROM incident_events e JOIN incidents i ON i.id = e.incident_id "
        "WHERE i.public_id = %s",
        (rid,),
    ).fetchone()
    assert ev == {"actor": "cityapp", "data": {"source": "open311", "method": "inside"}}
    # and the JSON report is an Open311 request too
    both = world.get(f"{BASE}/requests.json", params={"service_code": "SJ0102"}).json()
    assert [x["service_request_id"] for x in both] == [via_json["id"], rid]
    assert both[0]["agency_responsible"] == both[1]["agency_responsible"] == "城管执法甲街道分队"


def test_status_mapping_and_public_status_notes(world, db, api_key):
    ids = [
        post(world, list(form(api_key).items())).json()[0]["service_request_id"] for _ in range(3)
    ]

    def act(rid, action, status, note):  # type: ignore[no-untyped-def]
        row = db.execute(
            "UPDATE incidents SET status = %s, updated_at = now() WHERE public_id = %s "
            "RETURNING id, department_code",
            (status, rid),
        ).fetchone()
        db.execute(
            "INSERT INTO incident_events (incident_id, actor, action, from_status, to_status, "
            "department_code, note) VALUES (%s, 'disp', %s, 'reported', %s, %s, %s)",
            (row["id"], action, status, row["department_code"], note),
        )
        db.commit()

    act(ids[0], "reject", "rejected", "重复报告，已并入前一案卷")
    act(ids[1], "dispatch", "dispatched", "内部：先别告诉居民")
    r = world.get(f"{BASE}/requests.json", params={"service_request_id": ",".join(ids)}).json()
    by_id = {x["service_request_id"]: x for x in r}
    assert (by_id[ids[0]]["status"], by_id[ids[0]]["status_notes"]) == (
        "closed",
        "重复报告，已并入前一案卷",
    )
    assert (by_id[ids[1]]["status"], by_id[ids[1]]["status_notes"]) == (
        "open",
        "Dispatched to 城管执法甲街道分队.",
    )
    assert by_id[ids[2]]["status"] == "open"
    closed = world.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert [x["service_request_id"] for x in closed] == [ids[0]]
    open_ = world.get(f"{BASE}/requests.json", params={"status": "open"}).json()
    assert [x["service_request_id"] for x in open_] == [ids[2], ids[1]]


def test_default_window_and_paging(world, db, api_key):
    ids = [
        post(world, list(form(api_key).items())).json()[0]["service_request_id"] for _ in range(4)
    ]
    old = db.execute(
        "UPDATE incidents SET reported_at = reported_at - interval '100 days' "
        "WHERE public_id = %s RETURNING reported_at",
        (ids[0],),
    ).fetchone()["reported_at"]
    db.commit()

    def listed(**params):  # type: ignore[no-untyped-def]
        return [
            x["service_request_id"]
            for x in world.get(f"{BASE}/requests.json", params=params).json()
        ]

    newest_first = ids[:0:-1]
    assert listed() == newest_first  # the old one is outside the default 90 days
    assert listed(start_date=(old - dt.timedelta(days=1)).isoformat()) == [ids[0]]
    assert listed(end_date=(old + dt.timedelta(days=1)).isoformat()) == [ids[0]]
    assert listed(updated_after="2000-01-01T00:00:00Z") == [*newest_first, ids[0]]
    assert listed(page_size="2") == newest_first[:2]
    assert listed(page_size="2", page="2") == newest_first[2:]
    assert listed(page_size="2", page="3") == []
    # an unencoded '+' in a time zone offset arrives as a space and is still understood
    local = (old - dt.timedelta(days=1)).astimezone(TZ).isoformat()
    assert listed(start_date=local.replace("+", " ")) == [ids[0]]


def test_text_is_escaped_in_xml_and_kept_in_json(world, api_key):
    text = '<b>"Tom" & Jerry\'s</b>\x07 ]]> 完'
    rid = post(world, list(form(api_key, description=text).items())).json()[0]["service_request_id"]
    assert world.get(f"{BASE}/requests/{rid}.json").json()[0]["description"] == text
    root = xml(world.get(f"{BASE}/requests/{rid}.xml"))
    assert root.find("request/description").text == '<b>"Tom" & Jerry\'s</b> ]]> 完'


def test_a_misconfigured_category_is_a_clear_error_not_a_crash(world, db, api_key):
    bad = {"attributes": [{"code": "X", "datatype": "singlevaluelist", "description": "选一个"}]}
    db.execute("UPDATE categories SET attributes = %s WHERE code = 'SH0101'", (Jsonb(bad),))
    db.commit()
    services = world.get(f"{BASE}/services.json").json()
    assert [s["metadata"] for s in services] == [False, True, False]
    expected = [
        {
            "code": 400,
            "description": "The definition of service SH0101 is misconfigured (attributes.0: "
            "Value error, attribute X: a singlevaluelist needs values); please tell the GridGov "
            "administrator.",
        }
    ]
    r = world.get(f"{BASE}/services/SH0101.json")
    assert r.status_code == 400 and r.json() == expected
    r = post(world, list(form(api_key, service_code="SH0101").items()))
    assert r.status_code == 400 and r.json() == expected
    assert count(db) == 0


def test_openapi_still_builds_and_lists_open311(world):
    paths = world.get("/openapi.json").json()["paths"]
    assert {p for p in paths if p.startswith(BASE)} == {
        f"{BASE}/discovery.{{fmt}}",
        f"{BASE}/services.{{fmt}}",
        f"{BASE}/services/{{service_code}}.{{fmt}}",
        f"{BASE}/requests.{{fmt}}",
        f"{BASE}/requests/{{service_request_id}}.{{fmt}}",
    }


def test_a_nul_character_is_a_400_not_a_500(world, db, api_key):
    r = post(world, list(form(api_key, description="bad\x00text").items()))
    assert r.status_code == 400, r.text
    assert r.json() == [
        {
            "code": 400,
            "description": "A value cannot be stored (for example a NUL character in a text field).",
        }
    ]
    assert count(db) == 0
