"""/map/stats: sign-in, local assets only, and in an offline Chromium the choropleth, table,
negative list, click-through figures with an SVG trend, and the hotspot layer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from api.main import create_app
from tests.conftest import settings_for
from tests.evaluation_week import QUERY_AT, WEEK_FROM, WEEK_TO, build_week
from tests.loop import G1, G2, Clock
from tests.pages_workflow_util import PASSWORD, WAIT, give_password, send_sign_in
from tests.test_pages import external_urls, needs_chromium, serve_app
from web_map.pages import page_references

RED, GREEN = "#d73027", "#1a9850"


@pytest.fixture
def week(world, cast):
    clock = Clock(QUERY_AT)
    world.app.state.clock = clock
    return build_week(world, cast, clock)


def test_sign_in_first_then_only_local_assets(world, cast, world_db):
    world.app.state.clock = Clock(QUERY_AT)
    r = world.get("/map/stats", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map/stats"
    r = world.get("/map/stats?level=street&from=2025-11-03", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/map/stats%3Flevel%3Dstreet%26from%3D2025-11-03"
    give_password(world_db, "root")
    signed = world.post("/login", data={"name": "root", "password": PASSWORD, "next": "/map/stats"})
    assert signed.status_code == 200 and signed.url.path == "/map/stats"
    assert signed.headers["cache-control"] == "no-store"
    refs = page_references(signed.text)
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert world.get(ref).status_code == 200, ref
    assert {"/static/stats.js", "/static/hotspots.js", "/static/stats.css"} <= set(refs)
    assert external_urls(signed.text) == []
    # rural labels for the levels (GRIDGOV_LEVEL_LABELS)
    world.app.state.settings.evaluation.level_labels = {"street": "乡镇"}
    page = world.get("/map/stats").text
    config = json.loads(re.search(r'id="gridgov-config">(.*?)</script>', page).group(1))
    assert [lvl["label"] for lvl in config["levels"]] == ["区县", "乡镇", "社区", "网格"]
    assert config["period"] == {"from": "2025-10-14", "to": "2025-11-12"}  # 30 days to the clock


def live_app(world_db: str) -> Iterator[str]:
    """The app on a free port with the clock fixed at the history's query time."""
    app = create_app(settings_for(world_db))
    app.state.clock = Clock(QUERY_AT)
    yield from serve_app(app)


@pytest.fixture
def live(world_db, week) -> Iterator[str]:
    """The week's history served; the admin "root" and the resident "res" can sign in."""
    give_password(world_db, "root", "res")
    yield from live_app(world_db)


def bars(page: Any) -> list[str]:
    return page.locator("#gg-detail svg.gg-trend rect").evaluate_all(
        "rects => rects.map(r => r.dataset.value)"
    )


def signed_in_on_stats(browsers: Any, live: str, name: str, query: str = "") -> Any:
    """A new browser context that opens /map/stats`query`, is sent to sign in first, signs in
    as `name` and is sent back; the context (`browsers`)."""
    b = browsers()
    path = f"/map/stats{query}"
    b.page.goto(live + path)
    expect(b.page).to_have_url(f"{live}/login?next={quote(path, safe='/')}")
    send_sign_in(b.page, name)
    expect(b.page).to_have_url(live + path)
    return b


@pytest.mark.browser
@needs_chromium
def test_choropleth_table_and_trend_in_an_offline_browser(live, world_db, browsers):
    b = signed_in_on_stats(browsers, live, "root", f"?from={WEEK_FROM}&to={WEEK_TO}")
    page = b.page
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(status).to_have_text("Grid: 2 areas · 8 reported")

    # the choropleth: grid 1 (按期处置率 40 %) red, grid 2 (100 %) green
    g1 = page.locator(f'path[data-code="{G1}"]')
    g2 = page.locator(f'path[data-code="{G2}"]')
    expect(g1).to_have_attribute("fill", RED)
    expect(g2).to_have_attribute("fill", GREEN)
    assert (g1.get_attribute("data-value"), g2.get_attribute("data-value")) == ("0.4", "1")
    legend = page.locator("#gg-choropleth-legend li").all_inner_texts()
    assert legend == [
        "on-time handling rate",
        "< 60%",
        "60% – 70%",
        "70% – 80%",
        "80% – 90%",
        "≥ 90%",
        "no data",
    ]
    # the table: worst first, then the total
    codes = page.locator("#gg-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.code)")
    assert codes == [G1, G2, ""]
    cells = page.locator(f'#gg-table tr[data-code="{G1}"] td').all_inner_texts()
    assert cells == [G1, "一社区第1网格", "40.0%", "7", "1"]
    flags = page.locator("#gg-flag-list li").all_inner_texts()
    assert "自来水公司 (WATER): on-time handling rate 40.0% < 80.0%" in flags  # names are data
    assert any(f.endswith(": Check-ins missed: 2 (more than 0)") for f in flags), flags
    assert len(flags) == 4

    # click grid 1 on the map: its figures and a daily trend of the metric, drawn as SVG
    g1.click()
    detail = page.locator("#gg-detail")
    expect(detail).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(detail).to_have_attribute("data-code", G1)
    expect(detail.locator("h2")).to_have_text(f"一社区第1网格 ({G1})")
    figure = lambda key: detail.locator(f'tr[data-metric="{key}"] td').inner_text()  # noqa: E731
    assert (figure("reported"), figure("close_due"), figure("closing_rate")) == ("7", "6", "83.3%")
    assert figure("p90_handling_hours") == "9.98 h"
    assert bars(page) == ["0.3333", "1", "0", "", "", "", ""]
    assert page.locator(f'#gg-table tr.gg-selected[data-code="{G1}"]').count() == 1

    # another metric recolours without reloading; the trend follows it
    page.select_option("select[name=metric]", "reported")
    expect(g1).to_have_attribute("fill", "#08519c")
    expect(g2).to_have_attribute("fill", "#eff3ff")
    expect(detail).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(detail.locator("h3")).to_have_text("Trend · reported")
    expect(detail.locator("svg.gg-trend rect")).to_have_count(7)
    assert bars(page) == ["2", "1", "1", "0", "3", "0", "0"]

    # departments: a row click shows that department's figures
    page.click(".gg-tabs [data-tab=department]")
    page.click('#gg-table tr[data-code="WATER"]')
    expect(detail).to_have_attribute("data-code", "WATER", timeout=WAIT)
    expect(detail).to_have_attribute("data-state", "ready", timeout=WAIT)
    assert figure("return_rate") == "20.0%"
    # the row of the cases not dispatched is named so, and the total is the one "Total"
    names = page.locator("#gg-table tbody tr td:nth-child(2)").all_inner_texts()
    assert names.count("Total") == 1 and names.count("not dispatched") == 1, names
    assert names[-1] == "Total"
    csv = page.locator("#gg-csv").get_attribute("href")
    assert csv == f"/api/v1/stats?group_by=department&from={WEEK_FROM}&to={WEEK_TO}&format=csv"

    # the hotspot layer (hotspots.js): eight reports at one spot in the last 30 days
    page.check("input[name=hotspots]")
    hotspot = page.locator('[data-hotspot="H1"]')
    expect(hotspot).to_have_count(1, timeout=WAIT)
    hotspot.click()
    expect(page.locator(".gg-hotspot")).to_contain_text("8 (3 open)")

    # a coarser level redraws the map with streets
    page.select_option("select[name=level]", "street")
    expect(status).to_have_text("Street: 2 areas · 8 reported", timeout=WAIT)
    expect(page.locator('path[data-code="110199001"]')).to_have_attribute("data-value", "8")

    assert b.blocked == []
    assert b.problems == []


@pytest.mark.browser
@needs_chromium
def test_a_resident_sees_the_refusal(live, world_db, browsers):
    b = signed_in_on_stats(browsers, live, "res")
    page = b.page
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "error", timeout=WAIT)
    expect(status).to_contain_text("Statistics are for admins")
    assert b.blocked == []


@pytest.mark.browser
@needs_chromium
def test_the_browser_reads_the_table_compressed(live, world_db, browsers):
    """The statistics reach the browser zstd-compressed (Chromium accepts zstd from 123) and the
    page draws them (api/transport.py)."""
    b = signed_in_on_stats(browsers, live, "root", f"?from={WEEK_FROM}&to={WEEK_TO}")
    page = b.page
    with page.expect_response(lambda r: "/api/v1/stats?" in r.url) as answer:
        page.reload()
    expect(page.locator("#status")).to_have_text("Grid: 2 areas · 8 reported", timeout=WAIT)
    assert answer.value.all_headers().get("content-encoding") == "zstd"
    assert answer.value.json()["rows"]  # (decoded by the browser)


@pytest.mark.browser
@needs_chromium
def test_the_negative_list_shows_its_first_flags_and_counts_the_rest(live, world_db, browsers):
    """The page asks for the first 500 flags only and counts the rest from `matched` (a month
    of a city by grid flags thousands of grids). The week has 4: asked here for 2 instead of
    500 (the request changed in the browser; the answer is the server's), the page shows 2 and
    says how many more there are."""
    b = signed_in_on_stats(browsers, live, "root", f"?from={WEEK_FROM}&to={WEEK_TO}")
    page = b.page
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    asked: list[str] = []

    def fewer(route: Any) -> None:
        asked.append(route.request.url)
        route.continue_(url=route.request.url.replace("limit=500", "limit=2"))

    page.route("**/api/v1/stats/flags?*", fewer)
    with page.expect_response(lambda r: "/api/v1/stats/flags?" in r.url) as answer:
        page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    assert len(asked) == 1 and "limit=500" in asked[0], asked
    doc = answer.value.json()
    assert (doc["matched"], len(doc["flags"])) == (4, 2)
    items = page.locator("#gg-flag-list li")
    expect(items).to_have_count(3)
    shown = items.evaluate_all("lis => lis.slice(0, 2).map(li => li.dataset.code)")
    assert shown == [f["code"] for f in doc["flags"]]
    expect(items.nth(2)).to_have_text("… and 2 more: the table shows them by the chosen figure")
    assert b.problems == []
