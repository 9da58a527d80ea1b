"""The authorization table of 吹哨报到: whistling and checking in × role × in/out of scope.

One fresh report in grid G1 (street 甲). Whistling needs the `whistler` capacity of
`api.services.identity.policy.ACTIONS` (a dispatcher of the street or district holding the incident;
admins anywhere); checking in the `summoned` one (the department the whistle called; an admin
names it). Refused cells answer 403 and store no whistle and no check-in.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.services.identity.policy import ACTIONS
from tests.loop import make_cast, report

USERS = {
    "admin": ("admin", None),
    "dispatcher": ("disp", "other_disp"),
    "officer": ("officer", "other_officer"),
    "department": ("dept", "water"),  # CITYMGMT-001 is summoned below, WATER is not
    "resident": ("resident", "neighbour"),
}
CELLS = [(r, inside) for r in USERS for inside in (True, False) if USERS[r][0 if inside else 1]]
IDS = [f"{role}-{'in' if inside else 'out'}" for role, inside in CELLS]
CALL = {"departments": ["CITYMGMT-001"], "deadline_minutes": 30, "note": "联合处置"}


@pytest.fixture
def scene(world: Any, token_for: Any) -> dict[str, Any]:
    cast = make_cast(token_for)
    return {"cast": cast, "inc": report(world, headers=cast.resident)}


def headers(scene: dict[str, Any], role: str, inside: bool) -> dict[str, str]:
    name = USERS[role][0 if inside else 1]
    assert name is not None
    return dict(getattr(scene["cast"], name))


def counts(db: Any) -> tuple[int, int, int]:
    row = db.execute(
        "SELECT (SELECT count(*) FROM whistles) AS w, "
        "(SELECT count(*) FROM whistle_checkins WHERE checked_in_at IS NOT NULL) AS k, "
        "(SELECT count(*) FROM incident_events) AS e"
    ).fetchone()
    return row["w"], row["k"], row["e"]


def test_the_capacities_named_here_are_the_policy() -> None:
    assert ACTIONS["whistler"][0] == "dispatcher" and ACTIONS["summoned"][0] == "department"


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_whistle(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    before = counts(db)
    h = headers(scene, role, inside)
    r = world.post(f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=h)
    if (role, inside) in {("admin", True), ("dispatcher", True)}:
        assert r.status_code == 201, r.text
        assert counts(db)[0] == before[0] + 1
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert counts(db) == before


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_check_in(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    r = world.post(
        f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=scene["cast"].disp
    )
    assert r.status_code == 201, r.text
    whistle = r.json()["id"]
    before = counts(db)
    body = {"department": "CITYMGMT-001"} if role == "admin" else {}
    r = world.post(
        f"/api/v1/whistles/{whistle}/check-in", json=body, headers=headers(scene, role, inside)
    )
    if (role, inside) in {("admin", True), ("department", True)}:
        assert r.status_code == 200, r.text
        assert counts(db)[1] == before[1] + 1
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert counts(db) == before


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_withdraw(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    """撤哨 needs the same `whistler` capacity as whistling; a refusal ends nothing."""
    r = world.post(
        f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=scene["cast"].disp
    )
    assert r.status_code == 201, r.text
    whistle = r.json()["id"]
    before = counts(db)
    r = world.post(
        f"/api/v1/whistles/{whistle}/withdraw", json={}, headers=headers(scene, role, inside)
    )
    ended = db.execute("SELECT ended_at FROM whistles WHERE id = %s", (whistle,)).fetchone()
    if (role, inside) in {("admin", True), ("dispatcher", True)}:
        assert r.status_code == 200, r.text
        assert r.json()["end_reason"] == "withdrawn" and ended["ended_at"] is not None
        assert counts(db)[2] == before[2] + 1
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert counts(db) == before and ended["ended_at"] is None


def test_anonymous_whistles_and_check_ins_are_401(
    world: Any, db: Any, scene: dict[str, Any]
) -> None:
    r = world.post(
        f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=scene["cast"].disp
    )
    before = counts(db)
    assert world.post(f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL).status_code == 401
    assert world.post(f"/api/v1/whistles/{r.json()['id']}/check-in", json={}).status_code == 401
    assert world.post(f"/api/v1/whistles/{r.json()['id']}/withdraw", json={}).status_code == 401
    assert counts(db) == before
