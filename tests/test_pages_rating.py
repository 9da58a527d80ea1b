"""回访 through the pages: rate a closed report on /report/{id}, find one on /reports."""

from __future__ import annotations

import httpx
import psycopg
from playwright.sync_api import expect

from tests.loop import advance_to, make_cast
from tests.pages_workflow_util import WAIT, located_in_g1
from tests.test_pages import needs_chromium

pytestmark = needs_chromium


def test_rate_a_closed_report_and_find_it_again(live, browsers, world_db, token_for):
    cast = make_cast(token_for)
    with httpx.Client(base_url=live, timeout=10) as client:
        r = client.post(
            "/api/v1/incidents",
            json={
                "category": "SJ0102",
                "location": {"lon": 116.010, "lat": 39.020},
                "reporter": {"phone": "13800000009", "notify": True},
            },
        )
        incident = r.json()["id"]
        advance_to(client, cast, incident, "handled")
        handled = client.get(f"/report/{incident}")
        assert handled.status_code == 200
    view = browsers()
    page = view.page
    page.goto(f"{live}/report/{incident}")
    track = page.locator("#gg-track")
    expect(track).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(page.locator("#gg-rate")).to_be_hidden()  # not closed yet
    expect(track.locator('[data-field="status"]')).to_have_text("Handled, waiting for verification")
    expect(track.locator('[data-field="handling_note"]')).to_have_text("清运完毕")
    with httpx.Client(base_url=live, timeout=10) as client:
        advance_to_closed = client.post(
            f"/api/v1/incidents/{incident}/actions",
            json={"action": "verify", "data": {"passed": True}},
            headers=cast.officer,
        )
        assert advance_to_closed.status_code == 200
    page.locator("#gg-refresh").click()
    expect(track).to_have_attribute("data-status", "closed", timeout=WAIT)
    expect(track.locator('[data-field="closed_at"]')).to_be_visible()
    rate = page.locator("#gg-rate")
    expect(rate).to_be_visible()
    for width, height in ((390, 844), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"/tmp/gridgov-18-rate-{width}.png", full_page=True)

    # without the contact an anonymous reporter is asked for it; a wrong one is refused
    rate.locator("input[value=unsatisfied]").check()
    rate.locator("button[type=submit]").click()
    expect(rate).to_have_attribute("data-state", "error")
    expect(page.locator("#gg-rate-error")).to_have_text(
        "Please give the phone or e-mail you left when reporting"
    )
    rate.locator("input[name=contact]").fill("13900000000")
    rate.locator("button[type=submit]").click()
    expect(page.locator("#gg-rate-error")).to_contain_text("Only the reporter", timeout=WAIT)
    rate.locator("input[value=basically_satisfied]").check()
    rate.locator("textarea[name=comment]").fill("处理及时")
    rate.locator("input[name=contact]").fill("138 0000 0009")
    rate.locator("button[type=submit]").click()
    expect(rate).to_have_attribute("data-state", "done", timeout=WAIT)
    expect(rate).to_be_hidden()
    expect(track.locator('[data-field="rating"]')).to_have_text("Basically satisfied")
    with psycopg.connect(world_db) as conn:
        row = conn.execute("SELECT rating, comment, channel FROM incident_ratings").fetchone()
    assert row == ("basically_satisfied", "处理及时", "reporter")

    # /reports: the lookup by tracking id + phone
    page.goto(f"{live}/reports")
    mine = page.locator("#gg-mine")
    expect(mine).to_have_attribute("data-state", "ready", timeout=WAIT)
    page.fill("#gg-lookup-form input[name=id]", incident)
    page.fill("#gg-lookup-form input[name=contact]", "13800000001")
    page.click("#gg-lookup-submit")
    expect(mine).to_have_attribute("data-state", "not-found", timeout=WAIT)
    page.fill("#gg-lookup-form input[name=contact]", "13800000009")
    page.click("#gg-lookup-submit")
    expect(mine).to_have_attribute("data-state", "found", timeout=WAIT)
    expect(page.locator('#gg-lookup-result [data-field="rating"]')).to_have_text(
        "Basically satisfied"
    )
    expect(page.locator('#gg-lookup-result [data-field="link"]')).to_have_attribute(
        "href", f"/report/{incident}"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/gridgov-18-mine-390.png", full_page=True)
    assert view.blocked == []
    assert [p for p in view.problems if "status of 40" not in p] == []


def test_report_form_asks_consent_to_be_told(live, browsers, world_db):
    page = browsers().page
    made = []
    for consent in (True, False):
        located_in_g1(page, live)
        page.select_option("#gg-category", "SJ0102")
        page.fill("input[name=email]", "me@example.cn")
        if consent:
            page.check("input[name=notify]")
        page.click("#gg-submit")
        result = page.locator("#gg-result")
        expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
        made.append(str(result.get_attribute("data-incident")))
    with psycopg.connect(world_db) as conn:
        got = [
            conn.execute("SELECT reporter FROM incidents WHERE public_id = %s", (i,)).fetchone()[0]
            for i in made
        ]
    assert got == [{"email": "me@example.cn", "notify": True}, {"email": "me@example.cn"}]
