"""The patrol page opens without a connection (its service worker, web_map/static/patrol_sw.js),
once it was opened online; a patrol started offline is uploaded once the connection returns, and
signing out drops the kept page and session."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.pages_workflow_util import (
    WAIT,
    browsers,  # noqa: F401  (fixture)
)
from tests.test_pages import (
    chromium,  # noqa: F401  (fixture)
    needs_chromium,
)
from tests.test_pages_patrol import stored

KEPT = "caches.keys().then((names) => names.sort())"


def test_the_service_worker_is_served_for_the_patrol_scope(world: Any) -> None:
    r = world.get("/patrol-sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    assert 'addEventListener("fetch"' in r.text


@pytest.mark.browser
@needs_chromium
def test_patrol_page_opens_offline_and_uploads_when_back(walker: Any, world_db: str) -> None:
    b, root, tr = walker()
    page, context = b.page, b.page.context
    # the worker runs and holds the page, its scripts and the session
    expect(root).to_have_attribute("data-offline", "ready", timeout=WAIT)
    assert page.evaluate(KEPT) == ["gridgov-patrol-tiles-v1", "gridgov-patrol-v1"]
    for path in ("/patrol", "/static/patrol.js", "/static/patrol_queue.js", "/api/v1/session"):
        assert page.evaluate(f"caches.match('{path}').then((r) => !!r)"), path

    # no connection at all, for the page and for its worker: the page opens all the same
    context.set_offline(True)
    (worker,) = context.service_workers
    assert worker.evaluate("fetch('/healthz').then(() => 'online', () => 'offline')") == "offline"
    page.reload()
    expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
    start = page.locator("#gg-patrol-start")
    expect(start).to_have_text(tr("Start patrol"))
    expect(page.locator("#gg-who")).to_contain_text("walker")
    start.click()
    expect(root).to_have_attribute("data-state", "walking")
    expect(page.locator("#gg-patrol-fixes")).to_have_attribute("data-count", "1", timeout=WAIT)
    sync = page.locator("#gg-patrol-sync")
    expect(sync).to_have_attribute("data-state", "queued", timeout=WAIT)
    assert stored(world_db)["patrols"] == 0

    # back online: the patrol and its fix reach the server once
    context.set_offline(False)
    expect(sync).to_have_attribute("data-state", "synced", timeout=WAIT)
    counts = stored(world_db)
    assert (counts["patrols"], counts["fixes"], counts["distinct"]) == (1, 1, 1)

    page.locator("#gg-patrol-stop").click()
    expect(root).to_have_attribute("data-state", "idle")
    expect(sync).to_have_attribute("data-state", "synced", timeout=WAIT)
    assert stored(world_db)["ended"] == 1

    # signing out drops the kept page and session (the tiles are no one's)
    page.locator("#gg-logout").click()
    page.wait_for_url("**/login**", timeout=WAIT)
    assert page.evaluate(KEPT) == ["gridgov-patrol-tiles-v1"]
    assert b.blocked == []
