"""schemathesis against /openapi.json with a token of each role: no 5xx, responses match the schema.

Every operation in the document runs with a token of each of the 5 roles; each answer must pass
schemathesis' `not_a_server_error`, `status_code_conformance` (the status is documented),
`content_type_conformance` (so is its media type) and `response_schema_conformance` (the body
matches the documented schema: the {"error": …} envelope or Open311's error list for errors, the
models of api/schemas/responses.py for successes; api/openapi.py declares them). Every 4xx is
also checked by hand for a non-empty code and message (`_assert_error_form`).

Bounded so it stays in the default run, derandomized so a run is repeatable:
- EXAMPLES generated (positive) cases per operation and role;
- KNOWN_EXAMPLES more with the path parameters set to things that exist (the reported incident,
  grid G1, the incidents collection and layer, tile 0/0/0; Open311 paths once as .json and once
  as .xml) and, for a few writes, a body that succeeds for some role (KNOWN_BODIES), so success
  bodies are checked and not only 404s and 422s;
- NEGATIVE_EXAMPLES schema-violating cases per operation with the admin token only: invalid input
  is refused before any role or scope rule is applied, so one role is enough. Operations whose
  parameters are all free strings have no violating request and run no negative case.

Left out, with reasons: GET /api/v1/stream and /api/v1/patrols/live never end
(tests/test_stream.py, tests/test_patrol_live.py cover them); the HTML
pages, /login and /logout are not in the schema (include_in_schema=False).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api.openapi import OPERATIONS
from tests.conftest import settings_for
from tests.loop import G1, STREET, report

# event streams never end (tests/test_stream.py, tests/test_patrol_live.py cover them)
NEVER_ENDING = ["/api/v1/stream", "/api/v1/patrols/live"]

pytestmark = pytest.mark.fuzz  # in the default run; `-m 'not fuzz'` skips it
EXAMPLES = 5  # generated cases per operation and role
KNOWN_EXAMPLES = 2  # per operation, role and set of known path parameters
NEGATIVE_EXAMPLES = 3  # per operation, admin only
ROLES: dict[str, tuple[str, str | None, str | None]] = {
    "admin": ("admin", None, None),
    "dispatcher": ("dispatcher", STREET, None),
    "officer": ("officer", G1, None),
    "department": ("department", None, "CITYMGMT-001"),
    "resident": ("resident", None, None),
}
# Bodies that succeed for some role, so the success bodies of writes are checked too.
KNOWN_BODIES: dict[str, Any] = {
    "POST /api/v1/incidents": {"category": "SJ0102", "location": {"lon": 116.01, "lat": 39.02}},
    "POST /api/v1/incidents/{incident_id}/actions": {"action": "register"},
    "POST /api/v1/incidents/{incident_id}/whistle": {"departments": ["CITYMGMT-001"]},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Run:
    """What ran and what failed, across operations and roles."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []


def _assert_error_form(path: str, status: int, content: bytes) -> None:
    """A 4xx answer is the GridGov envelope, Open311's error list under /open311, or the OGC
    exception under /ogc."""
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
    if path == "/ogc" or path.startswith("/ogc/"):  # OGC API – Features' exception form
        assert set(body) == {"code", "description"}, body
        assert body["code"] and body["description"], body
        return
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] and body["error"]["message"], body


def _run_operation(
    operation: Any,
    headers: dict[str, str],
    run: Run,
    role: str,
    mode: GenerationMode = GenerationMode.POSITIVE,
    n: int = EXAMPLES,
    path: dict[str, Any] | None = None,
    body: Any = None,
) -> None:
    """Run `n` derandomized cases of one operation; record every check that fails."""
    # a known body is JSON (POST /api/v1/incidents also takes multipart, issue 16)
    fixed = {} if body is None else {"body": body, "media_type": "application/json"}

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path, **fixed))
    def cases(case: Any) -> None:
        run.cases[role] += 1
        response = case.call(headers=headers)
        run.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for f in group.exceptions:
                message = f.message.replace("\n", " ")[:600]
                run.failures.append(
                    f"{role} {operation.label} → {response.status_code}: {f.title}: {message}"
                )
        _assert_error_form(case.formatted_path, response.status_code, response.content)

    try:
        cases()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # every parameter is a free string (e.g. a path id): no request violates the schema


def _known_paths(operation: Any, known: dict[str, Any]) -> list[dict[str, Any]]:
    """Path parameters naming things that exist; Open311 resources once per format."""
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    fixed = {name: known[name] for name in names if name in known}
    if not fixed:
        return []
    if "fmt" in names:
        return [{**fixed, "fmt": fmt} for fmt in ("json", "xml")]
    return [fixed]


def known_values(incident: str) -> dict[str, Any]:
    """Path parameters that name something that exists: the reported incident, grid G1, a tile."""
    return {
        "incident_id": incident,
        "service_request_id": incident,
        "feature_id": incident,
        "collection_id": "incidents",
        "code": G1,
        "layer": "incidents",
        "service_code": "SJ0102",
        "z": 0,
        "x": 0,
        "y": 0,
        "fmt": "json",
    }


def test_every_operation_with_every_role(world_db: str, token_for: Any) -> None:
    config = settings_for(world_db)
    config.limits.report_per_minute = 0  # many reports and sign-ins are the point here
    config.limits.login_per_minute = 0
    app = create_app(config)
    run = Run()
    with TestClient(app) as client:  # runs the lifespan: the pool schemathesis' calls use
        incident = report(client)  # something to find under /api/v1/incidents and the feeds
        known = known_values(incident)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=NEVER_ENDING)
        operations = [result.ok() for result in schema.get_all_operations()]
        for role, (kind, area, department) in ROLES.items():
            headers = token_for(f"st-{role}", kind, area, department)
            for operation in operations:
                _run_operation(operation, headers, run, role)
                for path in _known_paths(operation, known):
                    body = KNOWN_BODIES.get(operation.label)
                    _run_operation(
                        operation, headers, run, role, n=KNOWN_EXAMPLES, path=path, body=body
                    )
                if operation.label in KNOWN_BODIES and not _known_paths(operation, known):
                    body = KNOWN_BODIES[operation.label]
                    _run_operation(operation, headers, run, role, n=KNOWN_EXAMPLES, body=body)
                raw = operation.definition.raw
                if role == "admin" and (raw.get("parameters") or raw.get("requestBody")):
                    _run_operation(
                        operation, headers, run, role, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES
                    )
    total = sum(run.cases.values())
    statuses = dict(sorted(run.statuses.items()))
    print(f"\nschemathesis: {len(operations)} operations, {total} cases {dict(run.cases)}")
    print(f"schemathesis: statuses {statuses}")
    assert not run.failures, f"{len(run.failures)} failed checks:\n" + "\n".join(
        sorted(set(run.failures))[:40]
    )
    assert total >= len(operations) * len(ROLES)  # at least one case each
    assert not any(status >= 500 for status in run.statuses)


# Values that once answered 500 (issue 15) and their kind: beyond 64 bits, Unicode digits, dates
# at the ends of the calendar, a CRS with no transformation to WGS 84, weak and huge ETags.
HOSTILE_TEXT = [
    "99999999999999999999",
    "-99999999999999999999",
    str(2**70),
    "1180591620717411303424",
    "-1",
    "0",
    "1e309",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-14:00",
    "EPSG:2963",
    "EPSG:5773",
    '"' + "9" * 40 + '"',
    'W/"1"',
]
HOSTILE_UNICODE = ["\u00b2", "\uff11", "\u0661\u0662", "1\u00b2"]  # not for headers (ASCII)
HOSTILE_BODIES: list[Any] = [
    2**70,
    "\u00b2",
    {"versions": {G1: 2**70}, "codes": [G1, G1], "attributes": {"n": 2**70}},
    {"type": "Feature", "geometry": None, "properties": {"attributes": {"n": -(2**70)}}},
]


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _hostile_cases(operation: Any, known: dict[str, Any]) -> list[Any]:
    """One case per parameter and hostile value (other path parameters known), and per body."""
    params = operation.definition.raw.get("parameters", [])
    path = {p["name"]: known.get(p["name"], "x") for p in params if p["in"] == "path"}
    cases = []
    for p in params:
        where, name = p["in"], p["name"]
        if where not in ("path", "query", "header") or name.lower() == "authorization":
            continue
        values = HOSTILE_TEXT + ([] if where == "header" else HOSTILE_UNICODE)
        for value in values:
            if where == "path":
                cases.append(operation.Case(path_parameters={**path, name: value}))
            elif where == "query":
                cases.append(operation.Case(path_parameters=path, query={name: value}))
            else:
                cases.append(operation.Case(path_parameters=path, headers={name: value}))
    if operation.definition.raw.get("requestBody"):
        json_body = "application/json" in operation.definition.raw["requestBody"]["content"]
        for body in HOSTILE_BODIES if json_body else []:
            cases.append(
                operation.Case(path_parameters=path, body=body, media_type="application/json")
            )
    return cases


def test_hostile_values_in_every_parameter_are_4xx(world_db: str, token_for: Any) -> None:
    """Every parameter of every operation × the values of issue 15 (as admin): never a 5xx, and
    each answer as documented. A new parameter is covered without editing this test."""
    config = settings_for(world_db)
    config.limits.report_per_minute = 0
    app = create_app(config)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    with TestClient(app) as client:
        incident = report(client)
        known = known_values(incident)
        admin = token_for("st-hostile", "admin")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=NEVER_ENDING)
        for result in schema.get_all_operations():
            operation = result.ok()
            for case in _hostile_cases(operation, known):
                response = case.call(headers=admin)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    failures += [
                        f"{operation.label} {case.path_parameters} {case.query} {case.headers} "
                        f"→ {response.status_code}: {f.title}"
                        for f in group.exceptions
                    ]
            if operation.definition.raw.get("requestBody") and operation.method == "post":
                url = operation.path.format_map(defaultdict(lambda: "x", known))
                if operation.path.startswith("/api/"):  # deep nesting, as raw text
                    r = client.post(
                        url,
                        content=_deep(5000),
                        headers={**admin, "Content-Type": "application/json"},
                    )
                    statuses[r.status_code] += 1
                    if r.status_code >= 500:
                        failures.append(f"{operation.label} nested 5000 → {r.status_code}")
    print(f"\nhostile values: statuses {dict(sorted(statuses.items()))}")
    assert not failures, f"{len(failures)} failed checks:\n" + "\n".join(sorted(set(failures))[:40])
    assert not any(status >= 500 for status in statuses)


def test_every_operation_is_documented(world: TestClient) -> None:
    """api/openapi.py names every operation the app serves, and only those."""
    doc = world.get("/openapi.json").json()
    served = {f"{method.upper()} {path}" for path, item in doc["paths"].items() for method in item}
    assert served == set(OPERATIONS)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for key in served:
        method, path = key.split(" ", 1)
        responses = doc["paths"][path][method.lower()]["responses"]
        assert all(code.isdigit() for code in responses), (key, list(responses))
