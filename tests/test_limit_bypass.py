"""Issue 15, hole 1: the anonymous reporting limit cannot be skipped with a header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import settings_for
from tests.open311_util import api_key, form, post  # noqa: F401  (fixtures are used by name)

REPORT = {"category": "SJ0102", "description": "垃圾", "location": {"lon": 116.01, "lat": 39.02}}


@pytest.fixture
def strict(world_db: str) -> Iterator[TestClient]:
    """Bursts of 2 reports per address."""
    s = settings_for(world_db)
    s.limits.report_burst = 2
    with TestClient(create_app(s)) as client:
        yield client


def incidents(db: Any) -> int:
    return int(db.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"])


def exhaust(client: TestClient) -> None:
    codes = [client.post("/api/v1/incidents", json=REPORT).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


@pytest.mark.parametrize("value", ["", " ", "Bearer", "Bearer ", "Basic", "x"])
def test_an_empty_or_odd_authorization_header_is_still_limited(
    strict: TestClient, db: Any, value: str
) -> None:
    exhaust(strict)
    before = incidents(db)
    for _ in range(5):
        r = strict.post("/api/v1/incidents", json=REPORT, headers={"Authorization": value})
        assert r.status_code == 429, (value, r.status_code, r.text)
        assert r.json()["error"]["code"] == "rate_limited"
    assert incidents(db) == before


def test_a_junk_bearer_is_refused_not_exempted(strict: TestClient, db: Any) -> None:
    exhaust(strict)
    before = incidents(db)
    r = strict.post("/api/v1/incidents", json=REPORT, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert incidents(db) == before


def test_a_real_token_is_not_limited_by_address(strict: TestClient, token_for: Any) -> None:
    exhaust(strict)
    resident = token_for("res", "resident")
    codes = {strict.post("/api/v1/incidents", json=REPORT, headers=resident).status_code}
    assert codes == {201}


def test_open311_junk_bearer_with_a_valid_api_key_is_limited(
    strict: TestClient,
    db: Any,
    api_key: str,  # noqa: F811
) -> None:
    # an Open311 api_key names a client application used by many residents: limited by address
    assert [post(strict, form(api_key)).status_code for _ in range(2)] == [201, 201]
    before = incidents(db)
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": ""}):
        r = post(strict, form(api_key), headers=headers)
        assert r.status_code == 429, (headers, r.text)
    assert incidents(db) == before
