"""schemathesis against /openapi.json with a token of each role: no 5xx, every error in its form.

Bounded (a few derandomized examples per operation) so it stays in the default run. GET
/api/v1/stream never ends and is left out; the HTML pages are not in the schema.

schemathesis' own conformance checks are not run: FastAPI's generated OpenAPI documents only
200/201 and its default 422 body (`detail`), and types our Response classes as a bare string,
so `status_code_conformance` (every 400/403/404/409/428 is "undocumented") and
`response_schema_conformance` fail on every operation for reasons of documentation, not
behaviour. In their place every 4xx is checked against the forms we do promise: the
{"error": {code, message, details}} envelope, or Open311's [{code, description}] list.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from tests.conftest import settings_for
from tests.loop import G1, STREET, report

pytestmark = pytest.mark.fuzz  # in the default run; `-m 'not fuzz'` skips it
EXAMPLES = 5  # per operation and role
ROLES: dict[str, tuple[str, str | None, str | None]] = {
    "admin": ("admin", None, None),
    "dispatcher": ("dispatcher", STREET, None),
    "officer": ("officer", G1, None),
    "department": ("department", None, "CITYMGMT-001"),
    "resident": ("resident", None, None),
}


def _assert_error_form(path: str, status: int, content: bytes) -> None:
    """A 4xx answer is the GridGov envelope, or Open311's error list under /open311."""
    if status < 400:
        return
    if path.startswith("/open311/") and status in (400, 403, 404):
        if content.startswith(b"<?xml"):
            assert b"<errors><error><code>" in content, content[:300]
            return
        errors = json.loads(content)
        assert errors and all(e["code"] == status and e["description"] for e in errors), errors
        return
    body = json.loads(content)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] and body["error"]["message"], body


def _run_operation(operation: Any, headers: dict[str, str]) -> int:
    """Run the bounded examples of one operation; the number of cases that ran."""
    ran = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        _assert_error_form(case.formatted_path, response.status_code, response.content)

    run()
    return ran


def test_every_operation_with_every_role(world_db: str, token_for: Any) -> None:
    config = settings_for(world_db)
    config.limits.report_per_minute = 0  # many reports and sign-ins are the point here
    config.limits.login_per_minute = 0
    app = create_app(config)
    with TestClient(app) as client:  # runs the lifespan: the pool schemathesis' calls use
        report(client)  # something to find under /api/v1/incidents and the feeds
        schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/v1/stream")
        cases: dict[str, int] = {}
        operations = 0
        for role, (kind, area, department) in ROLES.items():
            headers = token_for(f"st-{role}", kind, area, department)
            cases[role] = 0
            for result in schema.get_all_operations():
                operation = result.ok()
                operations += role == "admin"
                cases[role] += _run_operation(operation, headers)
    total = sum(cases.values())
    print(f"\nschemathesis: {operations} operations, {total} cases ({cases})")
    assert total >= operations * len(ROLES)
