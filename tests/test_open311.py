"""Open311 GeoReport v2 through /open311/v2, as a city app would use it, in JSON and XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.types.json import Jsonb

BASE = "/open311/v2"
TZ = ZoneInfo("Asia/Shanghai")
G1 = "110199001001001"

COVER_EXTRAS = {
    "keywords": ["井盖", "manhole"],
    "attributes": [
        {
            "code": "COVER_STATE",
            "datatype": "singlevaluelist",
            "required": True,
            "description": "井盖是什么状态？",
            "order": 1,
            "values": [{"key": "missing", "name": "缺失"}, {"key": "broken", "name": "破损"}],
        },
        {"code": "DEPTH_M", "datatype": "number", "description": "井深约几米？", "order": 2},
        {
            "code": "HAZARDS",
            "datatype": "multivaluelist",
            "description": "周边有什么危险？",
            "values": [{"key": "traffic", "name": "车流"}, {"key": "children", "name": "儿童"}],
        },
    ],
}

COVER_DEFINITION = {
    "service_code": "BJ0101",
    "attributes": [
        {
            "variable": True,
            "code": "COVER_STATE",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "井盖是什么状态？",
            "values": [{"key": "missing", "name": "缺失"}, {"key": "broken", "name": "破损"}],
        },
        {
            "variable": True,
            "code": "DEPTH_M",
            "datatype": "number",
            "required": False,
            "datatype_description": None,
            "order": 2,
            "description": "井深约几米？",
            "values": [],
        },
        {
            "variable": True,
            "code": "HAZARDS",
            "datatype": "multivaluelist",
            "required": False,
            "datatype_description": None,
            "order": 3,
            "description": "周边有什么危险？",
            "values": [{"key": "traffic", "name": "车流"}, {"key": "children", "name": "儿童"}],
        },
    ],
}


@pytest.fixture
def api_key(world_db):
    """A GridGov token of a resident account used by a city app."""
    from api.services.auth import add_user, create_token

    with psycopg.connect(world_db) as conn:
        add_user(conn, "cityapp", "resident", None, None)
        return create_token(conn, "cityapp")


@pytest.fixture
def covers(db):
    """BJ0101 上水井盖 asks three questions (COVER_STATE required)."""
    db.execute(
        "UPDATE categories SET attributes = %s WHERE code = 'BJ0101'", (Jsonb(COVER_EXTRAS),)
    )
    db.commit()


def form(key, **fields):  # type: ignore[no-untyped-def]
    """A minimal valid SJ0102 report at a point of grid G1, with overrides (None drops one)."""
    base = {"api_key": key, "service_code": "SJ0102", "lat": "39.02", "long": "116.01"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def cover_form(api_key, **fields):  # type: ignore[no-untyped-def]
    data = [
        ("api_key", api_key),
        ("service_code", "BJ0101"),
        ("lat", "39.02"),
        ("long", "116.01"),
        ("description", "井盖丢了"),
        ("attribute[COVER_STATE]", "missing"),
        ("attribute[DEPTH_M]", "1.5"),
        ("attribute[HAZARDS][]", "traffic"),
        ("attribute[HAZARDS][]", "children"),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13800000000"),
        ("email", "zhang@example.cn"),
    ]
    drop = {k for k, v in fields.items() if v is None}
    data = [(k, v) for k, v in data if k not in drop]
    data += [(k, v) for k, v in fields.items() if v is not None]
    return data


def post(client, data, fmt="json", headers=None):  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    return client.post(
        f"{BASE}/requests.{fmt}",
        content=urlencode(data),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


def count(db, table="incidents"):  # type: ignore[no-untyped-def]
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]  # noqa: S608


def w3(value):  # type: ignore[no-untyped-def]
    return value.astimezone(TZ).isoformat(timespec="seconds") if value else None


def stored(db, public_id):  # type: ignore[no-untyped-def]
    return db.execute(
        "SELECT reported_at, updated_at, due_at, source, attributes, reporter, "
        "reporter_user_id, department_code FROM incidents WHERE public_id = %s",
        (public_id,),
    ).fetchone()


def xml(response):  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(response.content)


def fields(element):  # type: ignore[no-untyped-def]
    """A flat XML element as {tag: text} ('' for empty elements)."""
    return {child.tag: (child.text or "") for child in element}


def test_json_client_walk(world, db, api_key, covers):
    r = world.get(f"{BASE}/discovery.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8"
    disco = r.json()
    assert disco["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://testserver/open311/v2",
            "changeset": disco["changeset"],
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
    ]
    assert "gridgov token create" in disco["key_service"]

    services = world.get(f"{disco['endpoints'][0]['url']}/services.json").json()
    assert [s["service_code"] for s in services] == ["BJ0101", "SH0101", "SJ0102"]
    assert services[2] == {
        "service_code": "SJ0102",
        "service_name": "暴露垃圾",
        "description": "暴露垃圾 (市容环境); handling time limit 1 working day; urgency normal.",
        "metadata": False,
        "type": "realtime",
        "keywords": "市容环境, 事件, event",
        "group": "市容环境",
    }
    assert services[0]["metadata"] is True and services[0]["keywords"] == "井盖, manhole"
    assert services[0]["group"] == "公用设施"

    assert world.get(f"{BASE}/services/BJ0101.json").json() == COVER_DEFINITION
    assert world.get(f"{BASE}/services/SJ0102.json").json() == {
        "service_code": "SJ0102",
        "attributes": [],
    }

    r = post(world, cover_form(api_key))
    assert r.status_code == 201, r.text
    [answer] = r.json()
    rid = answer["service_request_id"]
    row = stored(db, rid)
    # due_at is set at dispatch; until then the notice gives the category's time limit
    notice = (
        f"自来水公司 is responsible; expected to be handled by {w3(row['due_at'])}."
        if row["due_at"]
        else "自来水公司 is responsible; handling time limit 6 hours once dispatched."
    )
    assert answer == {"service_request_id": rid, "service_notice": notice, "account_id": None}
    assert row["source"] == "open311" and row["department_code"] == "WATER"
    assert row["attributes"] == {
        "COVER_STATE": "missing",
        "DEPTH_M": 1.5,
        "HAZARDS": ["traffic", "children"],
    }
    assert row["reporter"] == {"name": "张三", "phone": "13800000000", "email": "zhang@example.cn"}
    user = db.execute("SELECT id FROM users WHERE name = 'cityapp'").fetchone()
    assert row["reporter_user_id"] == user["id"]

    expected = {
        "service_request_id": rid,
        "status": "open",
        "status_notes": "Reported; waiting to be registered by the command centre.",
        "service_name": "上水井盖",
        "service_code": "BJ0101",
        "description": "井盖丢了",
        "agency_responsible": "自来水公司",
        "service_notice": answer["service_notice"],
        "requested_datetime": w3(row["reported_at"]),
        "updated_datetime": w3(row["updated_at"]),
        "expected_datetime": w3(row["due_at"]),
        "address": "一社区第1网格, 一社区, 甲街道, 测试区",
        "address_id": None,
        "zipcode": None,
        "lat": 39.02,
        "long": 116.01,
        "media_url": None,
    }
    assert expected["requested_datetime"].endswith("+08:00")
    r = world.get(f"{BASE}/requests/{rid}.json")
    assert r.json() == [expected]
    assert "13800000000" not in r.text and "zhang@" not in r.text

    def ids(**params):  # type: ignore[no-untyped-def]
        r = world.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    assert world.get(f"{BASE}/requests.json").json() == [expected]
    assert ids(service_code="BJ0101", status="open") == [rid]
    assert ids(service_code="SJ0102,SH0101") == []
    assert ids(status="closed") == [] and ids(status="open,closed") == [rid]
    assert ids(bbox="116.0,39.0,116.02,39.03") == [rid]
    assert ids(bbox="116.05,39.0,116.1,39.05") == []
    before = (row["reported_at"] - dt.timedelta(minutes=1)).isoformat()
    after = (row["reported_at"] + dt.timedelta(minutes=1)).isoformat()
    assert ids(start_date=before, end_date=after) == [rid]
    assert ids(start_date=after) == []
    assert ids(updated_after=before) == [rid] and ids(updated_after=after) == []
    assert ids(updated_before=before) == []
    assert ids(service_request_id=f"{rid},nope", status="closed") == [rid]  # ids override


def test_xml_client_walk(world, db, api_key, covers):
    disco = xml(world.get(f"{BASE}/discovery.xml"))
    assert disco.tag == "discovery"
    endpoint = disco.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]

    services = xml(world.get(f"{BASE}/services.xml"))
    assert services.tag == "services"
    assert [s.findtext("service_code") for s in services.findall("service")] == [
        "BJ0101",
        "SH0101",
        "SJ0102",
    ]
    assert fields(services.findall("service")[0])["metadata"] == "true"
    assert fields(services.findall("service")[2])["metadata"] == "false"

    definition = xml(world.get(f"{BASE}/services/BJ0101.xml"))
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "BJ0101"
    attributes = definition.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["COVER_STATE", "DEPTH_M", "HAZARDS"]
    first = attributes[0]
    assert (first.findtext("datatype"), first.findtext("required"), first.findtext("order")) == (
        "singlevaluelist",
        "true",
        "1",
    )
    assert [(v.findtext("key"), v.findtext("name")) for v in first.findall("values/value")] == [
        ("missing", "缺失"),
        ("broken", "破损"),
    ]
    assert first.findtext("datatype_description") == ""  # present and empty (null)

    r = post(world, cover_form(api_key), fmt="xml")
    assert r.status_code == 201, r.text
    created = xml(r)
    assert created.tag == "service_requests"
    [request] = created.findall("request")
    rid = request.findtext("service_request_id")
    assert rid and request.findtext("service_notice", "").startswith("自来水公司 is responsible")
    assert request.findtext("account_id") == ""  # present and empty (null)

    row = stored(db, rid)
    one = xml(world.get(f"{BASE}/requests/{rid}.xml"))
    assert one.tag == "service_requests"
    got = fields(one.find("request"))
    assert got == {
        "service_request_id": rid,
        "status": "open",
        "status_notes": "Reported; waiting to be registered by the command centre.",
        "service_name": "上水井盖",
        "service_code": "BJ0101",
        "description": "井盖丢了",
        "agency_responsible": "自来水公司",
        "service_notice": request.findtext("service_notice"),
        "requested_datetime": w3(row["reported_at"]),
        "updated_datetime": w3(row["updated_at"]),
        "expected_datetime": w3(row["due_at"]) or "",  # set at dispatch
        "address": "一社区第1网格, 一社区, 甲街道, 测试区",
        "address_id": "",
        "zipcode": "",
        "lat": "39.02",
        "long": "116.01",
        "media_url": "",
    }
    listed = xml(
        world.get(f"{BASE}/requests.xml", params={"status": "open", "service_code": "BJ0101"})
    )
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [rid]
    empty = xml(world.get(f"{BASE}/requests.xml", params={"status": "closed"}))
    assert empty.tag == "service_requests" and list(empty) == []


def _errors(response, fmt):  # type: ignore[no-untyped-def]
    """The (code, description) pairs of an Open311 error response in either format."""
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "errors"
        return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return [(e["code"], e["description"]) for e in response.json()]


OUTSIDE = "This location is outside the area GridGov serves."


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("fields_", "status", "descriptions"),
    [
        (
            {"service_code": "NOPE"},
            404,
            ["service_code 'NOPE' was not found. GET services.json lists the service codes."],
        ),
        ({"lat": None, "long": None}, 400, ["lat and long are required (WGS 84 decimal degrees)."]),
        (
            {"lat": None, "long": None, "address_string": "学院路 1 号"},
            400,
            [
                "GridGov locates service requests by lat and long only; an address_string or "
                "address_id alone cannot be placed. Send lat and long (WGS 84 decimal degrees)."
            ],
        ),
        ({"long": None}, 400, ["Send both lat and long; long is missing."]),
        ({"lat": "north"}, 400, ["lat must be a number in decimal degrees; got 'north'."]),
        (
            {"api_key": "ggt_not-a-token"},
            403,
            ["Invalid api_key: this token is unknown, revoked or expired."],
        ),
        ({"api_key": None}, 403, ["api_key is missing: send a GridGov API token as api_key."]),
        (
            {"service_code": None},
            400,
            ["service_code is required. GET services.json lists the service codes."],
        ),
        ({"lat": "38.5", "long": "121.0"}, 400, [OUTSIDE]),  # Bohai Sea
        (
            {"lat": "80.05", "long": "40.05"},  # swapped, and the swap lands in district 650199
            400,
            [OUTSIDE + " The coordinates look swapped: longitude and latitude may be reversed."],
        ),
        (
            {"lat": "116.01", "long": "39.02"},
            400,
            [
                "lat must be within -90..90 and long within -180..180. They look swapped: "
                "send the latitude as lat and the longitude as long."
            ],
        ),
        (
            {"description": "x" * 4001},
            400,
            ["description is limited to 4000 characters; got 4001."],
        ),
        ({"crs": "EPSG:999999"}, 400, None),
    ],
)
def test_post_errors_are_open311_errors_and_write_nothing(
    world, db, api_key, fmt, fields_, status, descriptions
):
    r = post(world, list(form(api_key, **fields_).items()), fmt)
    assert r.status_code == status, r.text
    got = _errors(r, fmt)
    assert [c for c, _ in got] == [status]
    if descriptions is None:
        assert "EPSG:999999" in got[0][1]
    else:
        assert [d for _, d in got] == descriptions
    assert count(db) == 0 and count(db, "incident_events") == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_attribute_errors_are_listed_one_by_one(world, db, api_key, covers, fmt):
    r = post(world, cover_form(api_key, **{"attribute[COVER_STATE]": None}), fmt)
    assert r.status_code == 400
    assert _errors(r, fmt) == [(400, "attribute[COVER_STATE] is required: 井盖是什么状态？")]

    data = cover_form(api_key, **{"attribute[DEPTH_M]": None, "attribute[HAZARDS][]": None})
    data += [
        ("attribute[DEPTH_M]", "deep"),
        ("attribute[HAZARDS][]", "fire"),
        ("attribute[COLOUR]", "red"),
    ]
    r = post(world, data, fmt)
    assert r.status_code == 400
    assert _errors(r, fmt) == [
        (
            400,
            "attribute[COLOUR] is not an attribute of service BJ0101 (its attributes: "
            "COVER_STATE, DEPTH_M, HAZARDS).",
        ),
        (400, "attribute[DEPTH_M] must be a number; got 'deep'."),
        (400, "attribute[HAZARDS] must be one of traffic, children; got fire."),
    ]
    assert count(db) == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_read_errors(world, fmt):
    r = world.get(f"{BASE}/requests/nope.{fmt}")
    assert r.status_code == 404 and _errors(r, fmt) == [
        (404, "service_request_id 'nope' was not found.")
    ]
    r = world.get(f"{BASE}/services/NOPE.{fmt}")
    assert r.status_code == 404 and _errors(r, fmt) == [
        (404, "service_code 'NOPE' was not found. GET services.json lists the service codes.")
    ]
    for params, description in [
        ({"status": "pending"}, "status must be open, closed or both (open,closed)."),
        (
            {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},
            "start_date and end_date may not span more than 90 days.",
        ),
        (
            {"start_date": "yesterday"},
            "start_date must be a w3 date/time such as 2010-01-01T00:00:00Z; got 'yesterday'.",
        ),
        ({"page_size": "5000"}, "page_size must be at most 1000."),
        ({"page": "0"}, "page must be a whole number from 1; got '0'."),
        ({"bbox": "1,2,3"}, "bbox must be four numbers: minLong,minLat,maxLong,maxLat."),
        (
            {"service_code": "SJ0102,NOPE"},
            "Unknown service_code NOPE. GET services.json lists the service codes.",
        ),
    ]:
        r = world.get(f"{BASE}/requests.{fmt}", params=params)
        assert r.status_code == 400 and _errors(r, fmt) == [(400, description)], params
    r = world.get(f"{BASE}/nothing.{fmt}")
    assert r.status_code == 404
    assert _errors(r, fmt)[0][1].startswith(f"No Open311 resource GET /open311/v2/nothing.{fmt}.")


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
