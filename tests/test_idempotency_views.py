"""Issue 15, hole 3: an Idempotency-Key replay answers with what the caller may see, no more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loop import get, make_cast, ok
from tests.open311_util import BASE, api_key, form, post  # noqa: F401  (fixtures are used by name)

NOTE = "内部备注：涉及领导小区，优先处理"
BODY = {
    "category": "SJ0102",
    "description": "路边暴露垃圾",
    "location": {"lon": 116.010, "lat": 39.020},
    "reporter": {"name": "王小明", "phone": "13800000000"},
}


def send(client: Any, headers: dict[str, str], body: Any = None) -> Any:
    return client.post(
        "/api/v1/incidents", json=body or BODY, headers={"Idempotency-Key": "k-1", **headers}
    )


@pytest.fixture
def handled(world: Any, token_for: Any) -> tuple[Any, str]:
    """A resident's report with contact data that staff registered and escalated with a note."""
    cast = make_cast(token_for)
    first = send(world, cast.resident)
    assert first.status_code == 201, first.text
    inc = first.json()["id"]
    ok(world, inc, cast.disp, "register")
    ok(world, inc, cast.community_disp, "escalate", note=NOTE)
    return cast, inc


@pytest.mark.parametrize("who", ["anonymous", "neighbour", "resident", "disp"])
def test_a_replay_is_the_callers_own_view(world: Any, handled: Any, who: str) -> None:
    cast, inc = handled
    headers = {} if who == "anonymous" else getattr(cast, who)
    r = send(world, headers)
    assert r.status_code == 200, r.text
    assert r.json() == get(world, inc, headers)  # the same as a fresh GET by this caller
    text = r.text
    if who in ("anonymous", "neighbour"):
        assert NOTE not in text and "13800000000" not in text and "王小明" not in text
        assert "reporter" not in r.json()
        assert {e["actor"] for e in r.json()["events"]} == {None}
    if who == "disp":  # staff in scope see the whole document, as on GET
        assert NOTE in text and "13800000000" in text


@pytest.mark.parametrize("who", ["anonymous", "neighbour"])
def test_a_reused_key_does_not_name_anothers_incident(world: Any, handled: Any, who: str) -> None:
    cast, inc = handled
    headers = {} if who == "anonymous" else getattr(cast, who)
    r = send(world, headers, {**BODY, "description": "另一件事"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert inc not in r.text and r.json()["error"]["details"] == {}


def test_the_reporter_is_told_which_incident_holds_the_key(world: Any, handled: Any) -> None:
    cast, inc = handled
    r = send(world, cast.resident, {**BODY, "description": "另一件事"})
    assert r.status_code == 409 and r.json()["error"]["details"] == {"incident": inc}


def test_open311_reused_key_names_no_incident(
    world: Any,
    token_for: Any,
    api_key: str,  # noqa: F811
) -> None:
    key = {"Idempotency-Key": "app-1"}
    first = post(world, form(api_key), headers=key)
    assert first.status_code == 201, first.text
    inc = first.json()[0]["service_request_id"]
    other = token_for("otherapp", "resident")["Authorization"].removeprefix("Bearer ")
    # Open311 answers a reused key with its own 400 error list, which names no incident
    r = post(world, form(other, description="另一件事"), headers=key)
    assert r.status_code == 400 and inc not in r.text, r.text
    # the same form from another app: the public view's id only, no contact data
    r = post(world, form(other), headers=key)
    assert r.status_code == 200 and r.json()[0]["service_request_id"] == inc
