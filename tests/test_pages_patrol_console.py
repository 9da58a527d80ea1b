"""The command view on /map/dispatch (Chromium): an officer on patrol appears live on a
dispatcher's console, moves with the next batch of fixes, and is offered as the nearest
on-duty officer of a case."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect
from psycopg.rows import dict_row

from api.services.identity.auth import create_token
from tests.loop import G1, STREET
from tests.pages_workflow_util import (
    WAIT,
    browsers,  # noqa: F401  (fixture)
    make_user,
    open_case,
    sign_in_to_console,
)
from tests.patrol_util import walk
from tests.test_pages import (
    chromium,  # noqa: F401  (fixture)
    needs_chromium,
)


@pytest.mark.browser
@needs_chromium
def test_console_shows_a_live_officer_and_the_nearest_one(
    live: str,
    browsers: Any,  # noqa: F811
    world_db: str,
) -> None:
    make_user(world_db, "dd1", "dispatcher", STREET)
    make_user(world_db, "walker", "officer", G1)
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        officer = {"Authorization": f"Bearer {create_token(conn, 'walker')}"}
    api = httpx.Client(base_url=live, timeout=20)
    patrol = api.post("/api/v1/patrols", json={}, headers=officer).json()["id"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fixes = walk(now - dt.timedelta(seconds=20), 2, lat=39.010)
    assert api.post(f"/api/v1/patrols/{patrol}/points", json={"fixes": fixes}, headers=officer)
    case = api.post(
        "/api/v1/incidents",
        json={"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}},
    ).json()["id"]

    b = browsers(viewport={"width": 1366, "height": 768})
    page = b.page
    sign_in_to_console(page, live, "dd1")
    officer_marker = page.locator(f'.gg-officer[data-patrol="{patrol}"]')
    expect(officer_marker).to_have_count(1, timeout=WAIT)
    expect(page.locator("#gg-patrols")).to_have_attribute("data-count", "1")
    first_at = officer_marker.get_attribute("data-at")
    # the next batch arrives over the live stream and moves the marker
    nxt = walk(now, 1, lat=39.0105)[0] | {"id": "next"}
    r = api.post(f"/api/v1/patrols/{patrol}/points", json={"fixes": [nxt]}, headers=officer)
    assert r.status_code == 200
    expect(officer_marker).not_to_have_attribute("data-at", str(first_at), timeout=WAIT)
    assert officer_marker.get_attribute("data-at") == now.isoformat().replace("+00:00", ".000Z")
    # 就近派遣: the case panel offers the officer, with the straight-line distance
    open_case(page, case)
    page.locator("#gg-nearest-button").click()
    nearest = page.locator("#gg-nearest")
    expect(nearest).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(nearest.locator(f'li[data-patrol="{patrol}"]')).to_contain_text("walker")
    assert b.problems == []
    api.close()
