"""Reporting through POST /api/v1/incidents and reading back, on the synthetic world."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.world import load_world  # noqa: F401  (documents where the fixture data comes from)

G1, G2 = "110199001001001", "110199001001002"


def report(client, lon=116.010, lat=39.020, category="SJ0102", key=None, **extra):  # type: ignore[no-untyped-def]
    body = {
        "category": category,
        "description": "垃圾堆在路边",
        "location": {"lon": lon, "lat": lat},
    }
    body.update(extra)
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/incidents", json=body, headers=headers)


def count(db, table="incidents"):  # type: ignore[no-untyped-def]
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]  # noqa: S608


def test_report_inside_grid_is_assigned_and_routed(world, db):
    r = report(world)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reported"
    assert body["assignment"]["grid"]["code"] == G1
    assert body["assignment"]["department"] == {
        "code": "CITYMGMT-001",
        "name": "城管执法甲街道分队",
    }
    assert body["assignment"]["rule"]["area_prefix"] == "110199001"
    assert body["category"] == {"code": "SJ0102", "name": "暴露垃圾"}
    assert [e["action"] for e in body["events"]] == ["report"]
    row = db.execute(
        "SELECT grid_code, department_code, status, method, orig_crs, ST_X(geom) AS x, "
        "grid_version_id = (SELECT id FROM areas WHERE code = grid_code AND valid_to IS NULL) "
        "AS version_ok FROM incidents WHERE public_id = %s",
        (body["id"],),
    ).fetchone()
    assert row == {
        "grid_code": G1,
        "department_code": "CITYMGMT-001",
        "status": "reported",
        "method": "inside",
        "orig_crs": "EPSG:4326",
        "x": 116.010,
        "version_ok": True,
    }
    assert count(db, "incident_events") == 1


@pytest.mark.parametrize(
    ("lon", "lat", "category", "department", "rule"),
    [
        (116.010, 39.020, "SJ0102", "CITYMGMT-001", ("SJ", "110199001")),  # area beats category
        (116.070, 39.020, "SJ0102", "SANITATION", ("SJ0102", "")),  # then longest category
        (116.070, 39.020, "SJ01", "CITYMGMT", ("SJ", "")),
        (116.010, 39.020, "BJ0101", "WATER", ("BJ01", "110199001")),  # then priority
        (116.010, 39.020, "SH0101", "S-110199001", None),  # no rule: street's territorial unit
        (116.070, 39.020, "BJ0101", "D-110199", None),  # street has none: the district's
    ],
)
def test_routing_precedence(world, lon, lat, category, department, rule):
    body = report(world, lon, lat, category).json()
    assert body["assignment"]["department"]["code"] == department
    got = body["assignment"]["rule"]
    assert (got["category_prefix"], got["area_prefix"]) == rule if rule else got is None


def test_deadline_from_category_limit(world, token_for):
    body = report(world, category="BJ0101").json()  # 6 natural hours
    assert body["due_at"] is None  # the clock starts at dispatch (tests/test_workflow*.py)
    disp = token_for("disp", "dispatcher", "110199001")
    for action in ("register", "dispatch"):
        r = world.post(
            f"/api/v1/incidents/{body['id']}/actions", json={"action": action}, headers=disp
        )
    dispatched = dt.datetime.fromisoformat(r.json()["events"][-1]["at"])
    assert dt.datetime.fromisoformat(r.json()["due_at"]) - dispatched == dt.timedelta(hours=6)


def test_same_key_same_body_returns_the_same_incident(world, db):
    first = report(world, key="abc-1")
    again = report(world, key="abc-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert count(db) == 1 and count(db, "incident_events") == 1


def test_same_key_different_body_is_409_and_changes_nothing(world, db):
    first = report(world, key="abc-2")
    other = report(world, lon=116.011, key="abc-2")
    assert other.status_code == 409
    err = other.json()["error"]
    assert err["code"] == "idempotency_key_reused"
    # anonymous: the key's incident is not named (issue 15; tests/test_idempotency_views.py)
    assert err["details"] == {} and first.json()["id"] not in other.text
    assert count(db) == 1


def test_geojson_point_location_and_gcj02(world):
    from gis.crs import from_wgs84

    x, y = from_wgs84(116.0249, 39.0305, "GCJ02")
    r = world.post(
        "/api/v1/incidents",
        json={
            "category": "SJ0102",
            "location": {"type": "Point", "coordinates": [x, y], "crs": "GCJ02"},
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["assignment"]["method"] == "building" and body["assignment"]["grid"]["code"] == G2
    assert body["original_location"] == {"x": x, "y": y, "crs": "GCJ02"}
    lon, lat = body["location"]["coordinates"]
    assert lon == pytest.approx(116.0249, abs=1e-7) and lat == pytest.approx(39.0305, abs=1e-7)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"category": "NOPE", "location": {"lon": 116.01, "lat": 39.02}}, 422, "unknown_category"),
        (
            {"category": "SJ0102", "location": {"lon": 121.0, "lat": 38.5}},
            422,
            "outside_service_area",
        ),
        (
            {"category": "SJ0102", "location": {"lon": 39.02, "lat": 116.01}},
            422,
            "invalid_coordinates",
        ),
        ({"category": "SJ0102"}, 422, "validation_failed"),
        (
            {"category": "SJ0102", "location": {"lon": "east", "lat": 39.02}},
            422,
            "validation_failed",
        ),
        (
            {
                "category": "SJ0102",
                "location": {"lon": 116.01, "lat": 39.02},
                "description": "x" * 4001,
            },
            422,
            "validation_failed",
        ),
        (
            {
                "category": "SJ0102",
                "location": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]},
            },
            422,
            "validation_failed",
        ),
    ],
)
def test_bad_reports_get_clear_errors_and_change_nothing(world, db, body, status, code):
    r = world.post("/api/v1/incidents", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert err["message"] and "Traceback" not in err["message"]
    assert count(db) == 0 and count(db, "incident_events") == 0


def test_malformed_json_is_400(world, db):
    r = world.post(
        "/api/v1/incidents",
        content=b'{"category": "SJ0102", "location": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "malformed_json",
        "message": "请求体不是有效的 JSON。",  # zh_CN by default
        "details": r.json()["error"]["details"],
    }
    # the same code, the message in the language asked for
    r = world.post(
        "/api/v1/incidents",
        content=b'{"category": "SJ0102", "location": ',
        headers={"content-type": "application/json", "accept-language": "en-GB,en;q=0.8"},
    )
    assert r.json()["error"]["code"] == "malformed_json"
    assert r.json()["error"]["message"] == "The request body is not valid JSON."
    assert count(db) == 0


def test_nan_coordinates_are_refused(world, db):
    r = world.post(
        "/api/v1/incidents",
        content=b'{"category": "SJ0102", "location": {"lon": NaN, "lat": 39.02}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert count(db) == 0


def test_public_reporting_can_be_switched_off(world_db):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.conftest import settings_for

    with TestClient(create_app(settings_for(world_db, public_reporting=False))) as client:
        r = report(client)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"


def test_incident_list_is_geojson_and_pages(world, world_db):
    from api.services.identity.auth import add_user, create_token

    ids = [report(world, lon=116.001 + i * 0.001).json()["id"] for i in range(5)]
    with psycopg.connect(world_db) as conn:
        add_user(conn, "disp", "dispatcher", "110199001", None)
        token = create_token(conn, "disp")
    auth = {"Authorization": f"Bearer {token}"}
    assert world.get("/api/v1/incidents").status_code == 401
    page1 = world.get("/api/v1/incidents", params={"limit": 3}, headers=auth).json()
    assert page1["type"] == "FeatureCollection"
    assert [f["id"] for f in page1["features"]] == ids[:3]
    assert page1["features"][0]["geometry"]["type"] == "Point"
    assert "reporter" not in page1["features"][0]["properties"]
    page2 = world.get(
        "/api/v1/incidents", params={"limit": 3, "cursor": page1["next_cursor"]}, headers=auth
    ).json()
    assert [f["id"] for f in page2["features"]] == ids[3:] and page2["next_cursor"] is None
    inside = world.get(
        "/api/v1/incidents", params={"bbox": "116.0005,39,116.0025,39.1"}, headers=auth
    ).json()
    assert [f["id"] for f in inside["features"]] == ids[:2]
    bad = world.get("/api/v1/incidents", params={"limit": 100000}, headers=auth)
    assert bad.status_code == 400 and "最大为" in bad.json()["error"]["message"]


def test_public_detail_hides_contact_data(world):
    body = report(world, reporter={"name": "张三", "phone": "13800000000"}).json()
    public = world.get(f"/api/v1/incidents/{body['id']}").json()
    assert "reporter" not in public
    assert public["events"][0]["actor"] is None
    assert world.get("/api/v1/incidents/nope").status_code == 404
