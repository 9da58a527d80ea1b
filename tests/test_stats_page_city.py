"""/map/stats at a city's size: a district of 10,000 grids (bench/scale_data.py, a few hundred
cases), in an offline Chromium, in Chinese (the default). Every grid is drawn; the table lays
out its worst rows and says how many there are, the negative list its first entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import expect
from psycopg.rows import dict_row

from api.settings import AREA_PAGE_MAX
from bench.scale_data import build_scale
from bench.synthetic import DISTRICT
from tests.conftest import settings_for
from tests.pages_workflow_util import PASSWORD, WAIT, send_sign_in
from tests.test_pages import serve

TABLE_ROWS = 500  # web_map/static/stats.js


@pytest.fixture
def city(empty_db: str) -> Iterator[str]:
    """The district's 10,000 grids with 300 cases of the last weeks, served; a dispatcher of the
    district can sign in."""
    from api.services.identity.auth import add_user
    from api.services.identity.sessions import set_password

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        build_scale(conn, 300, now)
    with psycopg.connect(empty_db, autocommit=True, row_factory=dict_row) as conn:
        add_user(conn, "city-disp", "dispatcher", DISTRICT, None)
        set_password(conn, "city-disp", PASSWORD)
    yield from serve(settings_for(empty_db))


def test_a_district_of_ten_thousand_grids(city: str, browsers) -> None:
    page = browsers(locale="zh-CN").page
    areas: list[str] = []
    page.on("request", lambda r: areas.append(r.url) if "/api/v1/areas?" in r.url else None)
    page.goto(city + "/login?next=/map/stats")
    send_sign_in(page, "city-disp")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    assert page.locator("path[data-code]").count() == 10_000  # every grid, coloured
    # in one request (AREA_PAGE_MAX), not eleven pages of 1,000 one after the other
    assert len(areas) == 1 and f"limit={AREA_PAGE_MAX}" in areas[0], areas
    body = page.locator("#gg-table tbody tr")
    # the worst rows, a line saying how many there are in all, and the total
    expect(body).to_have_count(TABLE_ROWS + 2)
    more = page.locator("#gg-table tr.gg-more").inner_text()
    assert "10,000" in more and "CSV" in more and "仅显示" in more, more
    assert page.locator("#gg-table tr.gg-total").count() == 1
    # a grid clicked on the map that is not among the worst rows joins the table, selected
    shown = set(
        page.locator("#gg-table tbody tr[data-code]").evaluate_all(
            "rows => rows.map(r => r.dataset.code)"
        )
    )
    codes = page.locator("path[data-code]").evaluate_all("ps => ps.map(p => p.dataset.code)")
    hidden = next(c for c in codes if c not in shown)
    page.locator(f'path[data-code="{hidden}"]').dispatch_event("click")
    expect(page.locator(f'#gg-table tr.gg-selected[data-code="{hidden}"]')).to_have_count(1)
    # the negative list: at most its first entries, and how many more
    flags = page.locator("#gg-flag-list li[data-code]").count()
    assert 0 < flags <= TABLE_ROWS
