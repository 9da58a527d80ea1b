"""The patrol page (/patrol): start, live figures, a problem reported on the way, and the offline
queue in Chromium (network cut, fixes and a report queued, network back, each stored once — even
when the first answers after reconnecting are lost)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Route, expect

from tests.loop import G1
from tests.pages_workflow_util import (
    WAIT,
    browsers,  # noqa: F401  (fixture)
)
from tests.patrol_util import LAT_M
from tests.test_pages import (
    chromium,  # noqa: F401  (fixture)
    external_urls,
    needs_chromium,
)
from web_map.pages import page_references


def test_patrol_page_is_for_signed_in_staff_and_in_their_menu(world: Any, token_for: Any) -> None:
    r = world.get("/patrol", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/patrol"
    officer = token_for("walker", "officer", G1)
    page = world.get("/patrol", headers=officer)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    refs = page_references(page.text)
    assert "/static/patrol.js" in refs and "/static/patrol_queue.js" in refs
    for ref in refs:
        assert world.get(ref).status_code == 200, ref
    assert external_urls(page.text) == []
    assert 'href="/patrol"' in page.text  # the officer's menu offers it
    staff = token_for("staffer", "department", department="CITYMGMT-001")
    assert 'href="/patrol"' in world.get("/patrol", headers=staff).text
    for role in ("dispatcher", "admin", "resident"):
        other = token_for(f"who-{role}", role, G1 if role == "dispatcher" else None)
        assert 'href="/patrol"' not in world.get("/report", headers=other).text, role


def stored(world_db: str) -> dict[str, Any]:
    with psycopg.connect(world_db) as conn:
        fixes = conn.execute("SELECT count(*), count(DISTINCT client_id) FROM patrol_fixes")
        f = fixes.fetchone()
        i = conn.execute(
            "SELECT count(*) FROM incidents WHERE source = 'patrol' AND description = 'kerb broken'"
        ).fetchone()
        linked = conn.execute("SELECT count(*) FROM patrol_reports").fetchone()
        patrols = conn.execute("SELECT count(*), count(ended_at) FROM patrols").fetchone()
    assert f and i and linked and patrols
    return {
        "fixes": f[0],
        "distinct": f[1],
        "reports": i[0],
        "linked": linked[0],
        "patrols": patrols[0],
        "ended": patrols[1],
    }


def lose_first_answer(page: Any, pattern: str) -> list[str]:
    """The first request to `pattern` reaches the server, but its answer is lost on the way."""
    lost: list[str] = []

    def handler(route: Route) -> None:
        if not lost:
            route.fetch()  # the server stores it…
            lost.append(route.request.url)
            route.abort("connectionreset")  # …and the phone never hears back
        else:
            route.fallback()

    page.route(pattern, handler)
    return lost


@pytest.mark.browser
@needs_chromium
def test_patrol_offline_queue_stores_each_fix_and_report_once(walker: Any, world_db: str) -> None:
    # this test loses answers with page.route, which Playwright cannot do for requests a
    # service worker sees; the worker has its own test (tests/test_pages_patrol_sw.py)
    b, root, tr = walker(service_workers="block")
    page, context = b.page, b.page.context
    start = page.locator("#gg-patrol-start")
    expect(start).to_have_text(tr("Start patrol"))
    expect(page.locator(".gg-shell a[href='/patrol']")).to_have_count(1)
    start.click()
    expect(root).to_have_attribute("data-state", "walking")
    fixes = page.locator("#gg-patrol-fixes")
    expect(fixes).to_have_attribute("data-count", "1", timeout=WAIT)
    sync = page.locator("#gg-patrol-sync")
    expect(sync).to_have_attribute("data-state", "synced", timeout=WAIT)
    expect(sync).to_have_text(tr("Everything is uploaded."))
    assert stored(world_db)["patrols"] == 1
    # a position 5 m from the last within the page's 10 s is seen but not kept (docs/patrols.md)
    context.set_geolocation({"latitude": 39.010 + 5 * LAT_M, "longitude": 116.010})
    expect(fixes).to_have_attribute("data-seen", "2", timeout=WAIT)
    expect(fixes).to_have_attribute("data-count", "1")
    context.set_geolocation({"latitude": 39.010, "longitude": 116.010})
    expect(fixes).to_have_attribute("data-seen", "3", timeout=WAIT)

    # the network goes: three more fixes (20 m apart) and a report wait on the phone
    context.set_offline(True)
    for n in (1, 2, 3):
        context.set_geolocation({"latitude": 39.010 + 20 * n * LAT_M, "longitude": 116.010})
        expect(fixes).to_have_attribute("data-count", str(n + 1), timeout=WAIT)
    distance = page.locator("#gg-patrol-distance")
    expect(distance).to_have_attribute("data-metres", "60")
    expect(distance).to_have_text(tr("{m} m", m="60"))
    expect(page.locator("#gg-patrol-category option[value=SJ0102]")).to_have_count(1)
    page.select_option("#gg-patrol-category", "SJ0102")
    page.fill("#gg-patrol-description", "kerb broken")
    page.locator("#gg-patrol-send").click()
    reported = page.locator("#gg-patrol-reported")
    expect(reported).to_have_text(tr("Queued: it is sent as soon as the connection allows."))
    expect(sync).to_have_attribute("data-state", "queued", timeout=WAIT)
    expect(sync).to_have_text(
        tr(
            "Waiting for the connection: {fixes} fixes and {reports} reports queued on this phone.",
            fixes=3,
            reports=1,
        )
    )
    assert stored(world_db) | {"patrols": 0} == {
        "fixes": 1,
        "distinct": 1,
        "reports": 0,
        "linked": 0,
        "patrols": 0,
        "ended": 0,
    }

    # back online; the first answers for the fixes and for the report are lost on the way back,
    # so the phone sends both again: the server keeps one of each
    lost_fixes = lose_first_answer(page, "**/api/v1/patrols/*/points")
    lost_report = lose_first_answer(page, "**/api/v1/incidents")
    context.set_offline(False)
    expect(reported).to_have_attribute("data-count", "1", timeout=WAIT)
    expect(sync).to_have_attribute("data-state", "synced", timeout=WAIT)
    expect(sync).to_have_attribute("data-queued", "0")
    assert lost_fixes and lost_report
    # the sync API runs a route's handler only while this test is inside a Playwright call: left
    # in place, they would hold any later upload while the test polls the database below
    page.unroute("**/api/v1/patrols/*/points")
    page.unroute("**/api/v1/incidents")
    incident = reported.get_attribute("data-incident")
    expect(reported).to_have_text(tr("Reported: {id}", id=incident))
    assert stored(world_db) == {
        "fixes": 4,
        "distinct": 4,
        "reports": 1,
        "linked": 1,
        "patrols": 1,
        "ended": 0,
    }

    page.locator("#gg-patrol-stop").click()
    expect(root).to_have_attribute("data-state", "idle")
    deadline = time.monotonic() + WAIT / 1000
    while stored(world_db)["ended"] == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # (lets Playwright deliver the page's events meanwhile)
    assert stored(world_db)["ended"] == 1
    expect(sync).to_have_attribute("data-state", "synced", timeout=WAIT)
    # the only console errors: Chromium's log of the requests the cut network refused
    assert all("ERR_CONNECTION_RESET" in p or "ERR_INTERNET_DISCONNECTED" in p for p in b.problems)
    assert b.blocked == []
