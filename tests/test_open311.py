"""Open311 GeoReport v2 through /open311/v2, as a city app would use it, in JSON and XML."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.open311_util import (  # noqa: F401  (fixtures)
    BASE,
    COVER_DEFINITION,
    api_key,
    count,
    cover_form,
    covers,
    fields,
    form,
    post,
    stored,
    w3,
    xml,
)

pytestmark = pytest.mark.usefixtures("english")


def cover_request(rid, notice, row):  # type: ignore[no-untyped-def]
    """The cover report of `cover_form` as GET /requests answers it (JSON), just reported."""
    return {
        "service_request_id": rid,
        "status": "open",
        "status_notes": "Reported; waiting to be registered by the command centre.",
        "service_name": "上水井盖",
        "service_code": "BJ0101",
        "description": "井盖丢了",
        "agency_responsible": "自来水公司",
        "service_notice": notice,
        "requested_datetime": w3(row["reported_at"]),
        "updated_datetime": w3(row["updated_at"]),
        "expected_datetime": w3(row["due_at"]),  # set at dispatch
        "address": "一社区第1网格, 一社区, 甲街道, 测试区",
        "address_id": None,
        "zipcode": None,
        "lat": 39.02,
        "long": 116.01,
        "media_url": None,
    }


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

    expected = cover_request(rid, answer["service_notice"], row)
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
    # XML says null as an empty element and numbers as text
    want = cover_request(rid, request.findtext("service_notice"), row)
    assert got == {key: "" if value is None else str(value) for key, value in want.items()}
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


def test_descriptions_in_the_asked_language(world):
    """Open311 errors speak the request's language: zh_CN by default, English when asked."""
    world.headers.pop("Accept-Language", None)
    r = world.get(f"{BASE}/requests/nope.json")
    assert r.status_code == 404
    assert r.json() == [{"code": 404, "description": "未找到 service_request_id 'nope'。"}]
    r = world.get(f"{BASE}/requests.xml", params={"status": "pending"})
    assert _errors(r, "xml") == [(400, "status 必须是 open、closed 或两者（open,closed）。")]
    r = world.get(f"{BASE}/requests/nope.json", headers={"Accept-Language": "en"})
    assert r.json()[0]["description"] == "service_request_id 'nope' was not found."


def test_words_for_people_in_the_asked_language(world, db, api_key, covers):
    """What a resident's app shows — a service's description, the notice after reporting, the
    status in words — is Chinese by default and English when asked; data (names, codes, times)
    is the same in both."""
    world.headers.pop("Accept-Language", None)
    english = {"Accept-Language": "en"}
    (garbage,) = [
        s for s in world.get(f"{BASE}/services.json").json() if s["service_code"] == "SJ0102"
    ]
    assert garbage["description"] == "暴露垃圾（市容环境）；处置时限 1 个工作日；紧急程度：一般。"
    services_en = world.get(f"{BASE}/services.json", headers=english).json()
    assert services_en[2]["description"] == (
        "暴露垃圾 (市容环境); handling time limit 1 working day; urgency normal."
    )
    r = post(world, cover_form(api_key))
    assert r.status_code == 201, r.text
    [answer] = r.json()
    rid, row = answer["service_request_id"], stored(db, answer["service_request_id"])
    if row["due_at"] is None:  # the category's limit, until a dispatch sets the due time
        assert answer["service_notice"] == "由自来水公司负责，派遣后处置时限 6 小时。"
    else:
        assert answer["service_notice"] == f"由自来水公司负责，预计 {w3(row['due_at'])} 前处置。"
    (chinese,) = world.get(f"{BASE}/requests/{rid}.json").json()
    (in_english,) = world.get(f"{BASE}/requests/{rid}.json", headers=english).json()
    assert chinese["status_notes"] == "已上报，等待指挥中心立案。"
    assert in_english["status_notes"] == "Reported; waiting to be registered by the command centre."
    assert in_english["service_notice"].startswith("自来水公司 is responsible")
    words = ("status_notes", "service_notice")
    assert {k: v for k, v in chinese.items() if k not in words} == {
        k: v for k, v in in_english.items() if k not in words
    }
    xml_notes = xml(world.get(f"{BASE}/requests/{rid}.xml")).findtext("request/status_notes")
    assert xml_notes == chinese["status_notes"]
