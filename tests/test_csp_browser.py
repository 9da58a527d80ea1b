"""The Content-Security-Policy in a real browser: every page runs with no violation reported, and
an injected inline handler is refused (so the policy is really in force)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.test_pages import (  # noqa: F401  (fixtures)
    Offline,
    chromium,
    live_server,
    needs_chromium,
    offline,
)

# Collects securitypolicyviolation events before any page script runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""
PAGES = ["/", "/login", "/report"]


def violations(state: Offline) -> list[str]:
    found: list[str] = state.page.evaluate("window.__cspViolations")
    return found + [p for p in state.problems if "Content Security Policy" in p]


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("path", PAGES)
def test_page_runs_under_the_csp_without_violations(
    live_server: str,  # noqa: F811
    offline: Offline,  # noqa: F811
    path: str,
) -> None:
    page = offline.page
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(live_server + path)
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    if path == "/login":  # no inline script at all
        assert "script-src 'self';" in csp
    else:  # map pages: folium's hashed inline setup ran and built the map
        assert "script-src 'self' 'sha256-" in csp
        expect(page.locator(".leaflet-container")).to_have_count(1, timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert violations(offline) == []
    assert offline.problems == [] and offline.blocked == []


@pytest.mark.browser
@needs_chromium
def test_injected_inline_handler_is_refused(live_server: str, offline: Offline) -> None:  # noqa: F811
    page = offline.page
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server + "/")
    page.wait_for_load_state("networkidle")
    # what an unescaped name or description would amount to: markup with an inline handler
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        '\'<img id="x" src="data:," onerror="window.__pwned = 1">\')'
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    found: Any = page.evaluate("[window.__pwned, window.__cspViolations]")
    assert found[0] is None
    assert found[1] == ["script-src-attr inline"]
