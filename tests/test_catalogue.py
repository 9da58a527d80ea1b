"""4+X service catalogues: global categories + local ("X") ones of the place's areas."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.services.demo import DEMO_DIR
from tests.loop import G1, make_cast

LOCAL_CONFIG = """
categories:
  - {code: SH05, name: 基层服务（4+X）, kind: event}
  - {code: SH0501, name: 巡查, parent: SH05, kind: event, time_limit: 1, time_unit: working_days}
  - {code: SH0581, name: 加装电梯协调, parent: SH05, kind: event, time_limit: 10,
     time_unit: working_days, area: "110199001001"}
  - {code: SH0582, name: 一网格特色服务, parent: SH05, kind: event, area: "110199001001001"}
  - {code: SH06, name: 乙街道特色服务, kind: event, area: "110199002"}
  - {code: SH0601, name: 果园巡护, parent: SH06, kind: event}
"""
IN_G1 = {"lon": 116.010, "lat": 39.020}
IN_G2 = {"lon": 116.035, "lat": 39.020}
COMMUNITY_2 = {"lon": 116.010, "lat": 39.070}  # 二社区: no grids
STREET_B = {"lon": 116.070, "lat": 39.020}  # 乙街道: no communities


@pytest.fixture
def local(world_db, tmp_path):
    path = tmp_path / "local.yaml"
    path.write_text(LOCAL_CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["import", "config", str(path)], env={"GRIDGOV_DATABASE_URL": world_db}
    )
    assert result.exit_code == 0, result.output


def codes(doc):
    return [c["code"] for c in doc["categories"]]


GLOBAL = ["BJ01", "BJ0101", "SH01", "SH0101", "SH05", "SH0501", "SJ01", "SJ0102"]


def test_catalogue_at_a_point_is_global_plus_local(world, local):
    g1 = world.get("/api/v1/catalogue", params=IN_G1).json()
    assert [a["code"] for a in g1["areas"]] == [G1, "110199001001", "110199001", "110199"]
    assert codes(g1) == sorted([*GLOBAL, "SH0581", "SH0582"])
    by_code = {c["code"]: c for c in g1["categories"]}
    assert by_code["SH0581"] == {
        "code": "SH0581",
        "name": "加装电梯协调",
        "parent": "SH05",
        "kind": "event",
        "time_limit": 10.0,
        "time_unit": "working_days",
        "urgency": "normal",
        "area": "110199001001",
        "local": True,
    }
    assert by_code["SH0501"]["local"] is False and by_code["SH0501"]["area"] is None
    # the neighbouring grid shares the community's service, not grid 1's own
    assert codes(world.get("/api/v1/catalogue", params=IN_G2).json()) == sorted([*GLOBAL, "SH0581"])
    assert codes(world.get("/api/v1/catalogue", params=COMMUNITY_2).json()) == GLOBAL
    # a local major class brings its sub-classes along
    street_b = world.get("/api/v1/catalogue", params=STREET_B).json()
    assert [a["level"] for a in street_b["areas"]] == ["street", "district"]
    assert codes(street_b) == sorted([*GLOBAL, "SH06", "SH0601"])
    # GCJ-02 input is converted like everywhere else
    gcj = world.get("/api/v1/catalogue", params={**IN_G1, "crs": "GCJ02"})
    assert gcj.status_code == 200


def test_catalogue_of_an_area_and_bad_requests(world, local):
    doc = world.get("/api/v1/catalogue", params={"area": "110199001001"}).json()
    assert doc["areas"] == [
        {"code": "110199001001", "level": "community", "name": "一社区"},
        {"code": "110199001", "level": "street", "name": "甲街道"},
        {"code": "110199", "level": "district", "name": "测试区"},
    ]
    assert codes(doc) == sorted([*GLOBAL, "SH0581"])

    def error(**params):
        r = world.get("/api/v1/catalogue", params=params)
        return r.status_code, r.json()["error"]["code"]

    assert error(area="999") == (404, "not_found")
    assert error(area="110199", **IN_G1) == (400, "bad_request")
    assert error(lon=116.01) == (400, "bad_request")
    assert error(lon=121.0, lat=38.5) == (422, "outside_service_area")


def test_report_refuses_a_local_category_outside_its_area(world, local, db):
    body = {"category": "SH0581", "description": "加装电梯", "location": IN_G2}
    r = world.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    before = db.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"]
    r = world.post("/api/v1/incidents", json={**body, "location": COMMUNITY_2})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "category_not_available"
    assert err["details"]["area"] == "110199001001"
    assert err["details"]["here"] == ["110199001002", "110199001", "110199"]
    assert "一社区" in err["message"]
    # a sub-class without an area of its own belongs where its major class does
    r = world.post("/api/v1/incidents", json={"category": "SH0601", "location": IN_G1})
    assert r.status_code == 422 and r.json()["error"]["details"]["area"] == "110199002"
    assert db.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"] == before
    assert (
        world.post(
            "/api/v1/incidents", json={"category": "SH0601", "location": STREET_B}
        ).status_code
        == 201
    )


def test_locate_and_open311_offer_the_catalogue_of_the_point(world, local, token_for):
    def classes(point):
        answer = world.get("/api/v1/locate", params=point).json()
        return [d["category"] for d in answer["departments"]]

    assert classes(IN_G1) == ["BJ01", "SH01", "SH05", "SJ01"]
    assert classes(STREET_B) == ["BJ01", "SH01", "SH05", "SH06", "SJ01"]

    every = [s["service_code"] for s in world.get("/open311/v2/services.json").json()]
    assert {"SH0581", "SH0582", "SH0601"} <= set(every)
    here = world.get("/open311/v2/services.json", params={"lat": 39.02, "long": 116.01}).json()
    assert [s["service_code"] for s in here] == [c for c in every if c not in ("SH0601",)]
    half = world.get("/open311/v2/services.json", params={"lat": 39.02})
    assert half.status_code == 400 and "lat 和 long" in half.json()[0]["description"]
    # reporting through Open311 applies the same rule
    cast = make_cast(token_for)
    token = cast.resident["Authorization"].removeprefix("Bearer ")
    form = {"api_key": token, "service_code": "SH0581", "lat": "39.07", "long": "116.01"}
    r = world.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 400 and "本地服务" in r.json()[0]["description"]
    r = world.post("/open311/v2/requests.json", data={**form, "lat": "39.02"})
    assert r.status_code == 201, r.text


def test_demo_config_has_the_standard_four_and_local_x(world, world_db):
    result = CliRunner().invoke(
        app,
        ["import", "config", str(Path(DEMO_DIR) / "config.yaml")],
        env={"GRIDGOV_DATABASE_URL": world_db},
    )
    assert result.exit_code == 0, result.output
    cats = {c["code"]: c for c in world.get("/api/v1/categories").json()["categories"]}
    four = [
        (c, cats[c]["name"], cats[c]["area_code"]) for c in ("SH0501", "SH0502", "SH0503", "SH0504")
    ]
    assert four == [
        ("SH0501", "巡查", None),
        ("SH0502", "应急处置", None),
        ("SH0503", "矛盾调解", None),
        ("SH0504", "志愿服务", None),
    ]
    assert cats["SH05"]["parent_code"] is None and cats["SH05"]["area_code"] is None
    assert (cats["SH0581"]["area_code"], cats["SH0582"]["area_code"]) == (
        "110108010001",
        "110108014002",
    )
    assert cats["SH0581"]["parent_code"] == "SH05"
