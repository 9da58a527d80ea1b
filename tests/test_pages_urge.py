"""督办 through the dispatch console: the urge form, its refusal without a reason, the count."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.loop import make_cast, ok
from tests.pages_workflow_util import (
    WAIT,
    action_buttons,
    give_password,
    open_case,
    sign_in_to_console,
    timeline,
)
from tests.test_pages import needs_chromium

pytestmark = needs_chromium


def test_urge_from_the_console(live, browsers, world_db, token_for):
    api = make_cast(token_for)
    give_password(world_db, "disp", "cm")
    with httpx.Client(base_url=live, timeout=10) as client:
        r = client.post(
            "/api/v1/incidents",
            json={"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}},
        )
        incident = r.json()["id"]
        ok(client, incident, api.disp, "register")
        ok(client, incident, api.disp, "dispatch")
    view = browsers()
    page = view.page
    sign_in_to_console(page, live, "disp")
    open_case(page, incident)
    assert "urge" in action_buttons(page)
    assert page.locator('#gg-actions button[data-action="urge"]').inner_text() == "Urge"

    # Without a reason the form refuses and nothing is sent.
    page.locator('#gg-actions button[data-action="urge"]').click()
    form = page.locator('#gg-action-form[data-action="urge"]')
    form.locator("textarea[name=note]").evaluate("t => t.removeAttribute('required')")
    form.locator("button.gg-confirm").click()
    expect(form).to_have_attribute("data-state", "error")
    expect(form.locator("#gg-action-error")).to_contain_text("Write why the case is urged.")
    form.locator("button.gg-cancel").click()

    for level, count in (("催办", 1), ("督办", 2)):
        page.locator('#gg-actions button[data-action="urge"]').click()
        form = page.locator('#gg-action-form[data-action="urge"]')
        form.locator("select[name=level]").select_option(level)
        form.locator("textarea[name=note]").fill(f"群众反映强烈，请加快（{level}）")
        form.locator("button.gg-confirm").click()
        expect(page.locator("#gg-action-form")).to_have_count(0, timeout=WAIT)
        expect(page.locator('#gg-case [data-field="urge_count"]')).to_have_text(
            f"{count} times", timeout=WAIT
        )
    assert timeline(page)[-2:] == ["urge", "urge"]
    expect(page.locator("#gg-case")).to_have_attribute("data-status", "dispatched")
    with httpx.Client(base_url=live, timeout=10) as client:
        doc = client.get(f"/api/v1/incidents/{incident}", headers=api.disp).json()
    assert doc["urge_count"] == 2
    urges = [e for e in doc["events"] if e["action"] == "urge"]
    assert [e["data"]["level"] for e in urges] == ["催办", "督办"]
    for width, height in ((390, 844), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"/tmp/gridgov-18-urge-{width}.png")
    assert view.blocked == [] and view.problems == []
