"""/map/stats: the 大联勤 coverage choropleth colours the grids by patrol coverage share over the
form's period, with the figures of GET /api/v1/stats (Chromium)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.loop import G1, G2, make_cast
from tests.pages_workflow_util import PASSWORD, WAIT, give_password
from tests.patrol_util import fold, send, start, walk
from tests.test_pages import needs_chromium

RED, YELLOW_GREEN = "#d73027", "#91cf60"


@pytest.mark.browser
@needs_chromium
def test_coverage_choropleth(
    world: Any,
    live: str,
    world_db: str,
    token_for: Any,
    browsers: Any,
) -> None:
    cast = make_cast(token_for)
    give_password(world_db, "root")
    # a walk of 406 m up grid 1, today, an hour ago
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    p = start(world, cast.officer)
    assert send(world, p["id"], cast.officer, walk(t0, 30)).status_code == 200
    fold(world_db)  # what the app does every GRIDGOV_PATROL_FOLD_S
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    first = today - dt.timedelta(days=1)
    stats = world.get(
        f"/api/v1/stats?group_by=area&level=grid&from={first}&to={today}", headers=cast.admin
    ).json()
    share = {r["code"]: r["patrol_coverage"] for r in stats["rows"]}
    assert share[G1] is not None and share[G1] > 0 and share[G2] is None

    page = browsers().page
    page.goto(f"{live}/login?next=/map/stats%3Ffrom%3D{first}%26to%3D{today}")
    page.fill("input[name=name]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    legend = page.locator("#gg-patrol-legend")
    expect(legend).to_be_hidden()
    page.check("input[name=patrols]")
    expect(legend).to_have_attribute("data-state", "ready", timeout=WAIT)
    g1 = page.locator(f'path.gg-patrol-coverage[data-code="{G1}"]')
    g2 = page.locator(f'path.gg-patrol-coverage[data-code="{G2}"]')
    expect(g1).to_have_attribute("data-coverage", str(share[G1]))
    expect(g2).to_have_attribute("data-coverage", "0")  # nobody walked it: 0 %
    expect(g2).to_have_attribute("fill", RED)
    breaks = [0.2, 0.4, 0.6, 0.8]
    colours = [RED, "#fc8d59", "#fee08b", YELLOW_GREEN, "#1a9850"]
    expect(g1).to_have_attribute("fill", colours[sum(share[G1] >= b for b in breaks)])
    # switched off: the overlay goes
    page.uncheck("input[name=patrols]")
    expect(g1).to_have_count(0)
    expect(legend).to_be_hidden()
