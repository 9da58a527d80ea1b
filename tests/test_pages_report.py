"""The residents' pages: /report (public, idempotent, validated in words) and /report/{id}."""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Route, expect

from tests.conftest import settings_for
from tests.loop import G1, G2
from tests.pages_workflow_util import PASSWORD, WAIT, make_user, point_in_page, send_sign_in
from tests.test_catalogue import IN_G1, IN_G2, local  # noqa: F401  (fixture)
from tests.test_pages import external_urls, needs_chromium
from web_map.pages import page_references

CONFIG = re.compile(r'<script type="application/json" id="gridgov-config">(.*?)</script>', re.S)


def page_config(html: str) -> dict[str, Any]:
    found = CONFIG.search(html)
    assert found is not None
    return dict(json.loads(found.group(1)))


def incident_count(world_db: str) -> int:
    with psycopg.connect(world_db) as conn:
        row = conn.execute("SELECT count(*) FROM incidents").fetchone()
    return int(row[0]) if row else 0


# --- HTTP ------------------------------------------------------------------------------------


def test_report_pages_are_public_and_local(world):
    for path in ("/report", "/report/20261125-000001"):
        r = world.get(path, follow_redirects=False)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        refs = page_references(r.text)
        script = "/static/report.js" if path == "/report" else "/static/report_status.js"
        assert script in refs and "/static/vendor/leaflet/leaflet.js" in refs
        for ref in refs:
            assert ref.startswith("/static/"), ref
            assert world.get(ref).status_code == 200, ref
        assert external_urls(r.text) == []
    form = page_config(world.get("/report").text)
    assert form["page"] == "report"
    assert form["signed_in"] is False and form["public_reporting"] is True
    track = page_config(world.get("/report/20261125-000001").text)
    assert track["page"] == "report_status" and track["incident"] == "20261125-000001"


def test_report_status_page_refuses_odd_ids(world):
    assert world.get("/report/a%20b").status_code == 422
    assert world.get("/report/%3Cscript%3E").status_code == 422
    assert world.get("/report/" + "9" * 65).status_code == 422


def test_report_page_knows_a_session_and_closed_public_reporting(world_db):
    from fastapi.testclient import TestClient

    from api.main import create_app

    make_user(world_db, "res", "resident")
    with TestClient(create_app(settings_for(world_db, public_reporting=False))) as client:
        assert page_config(client.get("/report").text)["public_reporting"] is False
        client.post("/login", data={"name": "res", "password": PASSWORD, "next": "/report"})
        assert page_config(client.get("/report").text)["signed_in"] is True


# --- browser ---------------------------------------------------------------------------------


def open_form(page: Any, base: str) -> Any:
    page.goto(base + "/report")
    root = page.locator("#gg-report")
    expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
    return root


def click_map(page: Any, lat: float, lon: float) -> None:
    page.locator(".folium-map").click(position=point_in_page(page, lat, lon, 16))


@pytest.mark.browser
@needs_chromium
def test_report_errors_in_words_and_a_resend_is_the_same_report(
    live,
    browsers,
    world_db,
):
    b = browsers(locale="zh-CN")  # Accept-Language zh-CN: the page and the API speak Chinese
    page = b.page
    root = open_form(page, live)
    error = page.locator("#gg-report-error")

    page.click("#gg-submit")
    expect(error).to_have_text("请先在地图上点击问题所在位置。")

    # outside every area: the API's words, and nothing to choose
    click_map(page, 39.5, 116.5)
    expect(root).to_have_attribute("data-state", "outside", timeout=WAIT)
    expect(page.locator("#gg-place")).to_have_text("该位置不在本系统服务范围内。")
    expect(page.locator("#gg-category")).to_be_disabled()

    # inside grid 1: the categories served there, grouped by class
    click_map(page, 39.02, 116.010)
    expect(root).to_have_attribute("data-state", "located", timeout=WAIT)
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G1)
    options = page.locator("#gg-category option")
    assert [o.get_attribute("value") for o in options.all()] == ["", "BJ0101", "SH0101", "SJ0102"]
    page.click("#gg-submit")
    expect(error).to_have_text("请选择类别。")

    # the first answer is lost on the way back (the report was stored); sending again gives
    # the same report, because the form keeps its Idempotency-Key
    keys: list[str] = []
    stored: list[dict[str, Any]] = []

    def lose_first_answer(route: Route) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if not stored:
            stored.append(route.fetch().json())
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/incidents", lose_first_answer)
    page.select_option("#gg-category", "SJ0102")
    page.fill("#gg-description", "路边暴露垃圾")
    page.click("#gg-submit")
    expect(error).to_have_text("网络错误，请重试。")
    assert incident_count(world_db) == 1
    page.click("#gg-submit")
    result = page.locator("#gg-result")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    expect(result.locator('[data-field="id"]')).to_have_text(stored[0]["id"])
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("report-")
    assert incident_count(world_db) == 1

    # another report is a new form with a new key; a double click still makes one report
    page.click("#gg-again")
    expect(root).to_have_attribute("data-state", "idle")
    click_map(page, 39.03, 116.012)
    expect(root).to_have_attribute("data-state", "located", timeout=WAIT)
    page.select_option("#gg-category", "BJ0101")
    page.dblclick("#gg-submit")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    expect(result.locator('[data-field="department"]')).to_have_text("自来水公司 (WATER)")
    assert incident_count(world_db) == 2
    assert len(keys) == 3 and keys[2] != keys[0]

    assert b.blocked == []
    # Chromium logs the aborted answer; the outside-area 422 is filtered by Offline
    assert [p for p in b.problems if "net::ERR_FAILED" not in p] == []


@pytest.mark.browser
@needs_chromium
def test_signed_in_resident_report_is_linked_and_location_button_works(
    live,
    browsers,
    world_db,
):
    make_user(world_db, "res", "resident")
    b = browsers(geolocation={"latitude": 39.02, "longitude": 116.010}, permissions=["geolocation"])
    page = b.page
    page.goto(live + "/login?next=/report")
    send_sign_in(page, "res")
    expect(page).to_have_url(live + "/report")
    root = page.locator("#gg-report")
    expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
    expect(page.locator("#gg-who")).to_have_text("Reporting as res")

    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers) if r.method == "POST" and "/incidents" in r.url else None,
    )
    page.click("#gg-geolocate")
    expect(root).to_have_attribute("data-state", "located", timeout=WAIT)
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G1)
    page.select_option("#gg-category", "SJ0102")
    page.click("#gg-submit")
    result = page.locator("#gg-result")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    incident = result.get_attribute("data-incident")
    assert len(sent) == 1 and len(sent[0]["x-csrf-token"]) > 20
    with psycopg.connect(world_db) as conn:
        row = conn.execute(
            "SELECT u.name FROM incidents i JOIN users u ON u.id = i.reporter_user_id "
            "WHERE i.public_id = %s",
            (incident,),
        ).fetchone()
    assert row == ("res",)

    # an unknown report says so in words
    page.goto(live + "/report/20000101-999999")
    track = page.locator("#gg-track")
    expect(track).to_have_attribute("data-state", "error", timeout=WAIT)
    expect(page.locator("#status")).to_have_text("No incident '20000101-999999'.")
    assert b.blocked == []
    assert [p for p in b.problems if "status of 404" not in p] == []


@pytest.mark.browser
@needs_chromium
def test_report_offers_the_catalogue_of_the_point(
    local,  # noqa: F811  (4+X: local categories of grid 1 and of its community, loaded first)
    live,
    browsers,
):
    page = browsers().page
    root = open_form(page, live)
    options = page.locator("#gg-category option")

    # grid 1: its own local service (SH0582) and its community's (SH0581), under their class
    click_map(page, IN_G1["lat"], IN_G1["lon"])
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G1, timeout=WAIT)
    expect(root).to_have_attribute("data-state", "located")
    values = ["", "BJ0101", "SH0101", "SH0501", "SH0581", "SH0582", "SJ0102"]
    assert [o.get_attribute("value") for o in options.all()] == values
    group = page.locator("#gg-category optgroup[label$=' SH05'] option")
    assert group.all_inner_texts() == [
        "巡查 (SH0501)",
        "加装电梯协调 (SH0581)",
        "一网格特色服务 (SH0582)",
    ]

    # grid 2, same community: the community's service, not grid 1's
    click_map(page, IN_G2["lat"], IN_G2["lon"])
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G2, timeout=WAIT)
    values = ["", "BJ0101", "SH0101", "SH0501", "SH0581", "SJ0102"]
    assert [o.get_attribute("value") for o in options.all()] == values
