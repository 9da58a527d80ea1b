"""GET /docs: Swagger UI from the app's own /static, under the page CSP, with nothing external."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.test_csp_browser import RECORD_VIOLATIONS, violations
from tests.test_pages import (  # noqa: F401  (fixtures)
    Offline,
    chromium,
    live_server,
    needs_chromium,
    offline,
)

SWAGGER = "/static/vendor/swagger-ui"


def test_docs_page_references_only_vendored_files(world: TestClient) -> None:
    r = world.get("/docs")
    assert r.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert sorted(refs) == sorted(
        [
            f"{SWAGGER}/swagger-ui-bundle.js",
            f"{SWAGGER}/swagger-ui.css",
            f"{SWAGGER}/favicon-32x32.png",
        ]
    )
    assert '"validatorUrl": null' in r.text  # no call to validator.swagger.io
    assert "script-src 'self' 'sha256-" in r.headers["content-security-policy"]
    for ref in refs:
        assert world.get(ref).status_code == 200, ref
    for gone in ("/redoc", "/docs/oauth2-redirect"):  # FastAPI's CDN-backed pages are off
        assert world.get(gone).status_code == 404


@pytest.mark.browser
@needs_chromium
def test_docs_render_offline_under_the_csp(live_server: str, offline: Offline) -> None:  # noqa: F811
    page = offline.page
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(live_server + "/docs")
    assert response is not None and response.status == 200
    # every operation of /openapi.json is listed, e.g. reporting an incident
    report = page.locator(".opblock-post .opblock-summary-path", has_text="/api/v1/incidents")
    expect(report.first).to_be_visible(timeout=20_000)
    spec = page.evaluate("fetch('/openapi.json').then((r) => r.json())")
    operations = sum(len(ops) for ops in spec["paths"].values())
    expect(page.locator(".opblock")).to_have_count(operations)
    page.wait_for_load_state("networkidle")
    assert violations(offline) == []
    assert offline.problems == [] and offline.blocked == []
