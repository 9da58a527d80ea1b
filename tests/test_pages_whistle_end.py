"""The dispatch console at 390×844 and 1366×768: a whistle's check-ins are shown in words, and
the dispatcher withdraws an open whistle (撤哨); the summons still pending shows as cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, Screen, action_buttons, give_password
from tests.test_pages import needs_chromium, serve

WORDS = {
    "zh-CN": ("撤哨", "召集已取消", "按时报到", "已撤哨"),
    "en-US": ("Withdraw whistle", "Summons cancelled", "Checked in on time", "Withdrawn"),
}


@pytest.fixture
def live(world_db: str, token_for: Any) -> Iterator[dict[str, Any]]:
    disp = token_for("wdisp", "dispatcher", "110199001")
    water = token_for("wwater", "department", department="WATER")
    give_password(world_db, "wdisp")
    for base in serve(settings_for(world_db)):
        report = {"category": "SJ0102", "location": {"lon": 116.012, "lat": 39.021}}
        r = httpx.post(base + "/api/v1/incidents", json=report, timeout=30)
        assert r.status_code == 201, r.text
        incident = r.json()["id"]
        call = {"departments": ["WATER", "SANITATION"], "deadline_minutes": 600}
        r = httpx.post(
            f"{base}/api/v1/incidents/{incident}/whistle", json=call, headers=disp, timeout=30
        )
        assert r.status_code == 201, r.text
        whistle = r.json()["id"]
        r = httpx.post(f"{base}/api/v1/whistles/{whistle}/check-in", headers=water, timeout=30)
        assert r.status_code == 200, r.text
        yield {"base": base, "incident": incident, "whistle": whistle}


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_withdraw_a_whistle_from_the_case_panel(
    live: dict[str, Any], screen: Screen, locale: str
) -> None:
    button, cancelled, on_time, withdrawn = WORDS[locale]
    b = screen.console(live["base"], "wdisp", locale)
    page = b.page
    item = page.locator(f'#gg-list > li[data-incident="{live["incident"]}"]')
    expect(item.locator(".gg-flag-whistle")).to_have_count(1)
    item.locator(".gg-list-item").dispatch_event("click")
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)
    whistle = case.locator(f'.gg-whistles li[data-whistle="{live["whistle"]}"]')
    expect(whistle).to_have_attribute("data-open", "true")
    expect(whistle.locator('li[data-department="WATER"]')).to_contain_text(on_time)
    assert "withdraw_whistle" in action_buttons(page)

    withdraw = page.locator('#gg-actions button[data-action="withdraw_whistle"]')
    expect(withdraw).to_have_text(button)
    withdraw.click()
    form = page.locator('#gg-action-form[data-action="withdraw_whistle"]')
    expect(form.locator("select[name=whistle] option")).to_have_count(1)
    form.locator("textarea[name=note]").fill("已协调解决")
    form.locator("button.gg-confirm").click()
    expect(whistle).to_have_attribute("data-open", "false", timeout=WAIT)
    expect(whistle).to_have_attribute("data-end", "withdrawn")
    expect(whistle).to_contain_text(withdrawn)
    sanitation = whistle.locator('li[data-department="SANITATION"]')
    expect(sanitation).to_have_attribute("data-state", "cancelled")
    expect(sanitation).to_contain_text(cancelled)
    expect(page.locator('#gg-actions button[data-action="withdraw_whistle"]')).to_have_count(0)
    expect(page.locator("#gg-timeline li").last).to_have_attribute(
        "data-action", "withdraw_whistle"
    )
    # the list's whistle flag goes with the last open whistle (the live event refreshes it)
    expect(item.locator(".gg-flag-whistle")).to_have_count(0, timeout=WAIT)
    assert b.problems == []
