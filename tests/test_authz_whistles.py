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
from tests.authz_util import CELLS, IDS, forbidden, headers
from tests.loop import make_cast, report

# the department user "dept" (CITYMGMT-001) is summoned, "water" (WATER) is not
CALL = {"departments": ["CITYMGMT-001"], "deadline_minutes": 30, "note": "联合处置"}


@pytest.fixture
def scene(world: Any, token_for: Any) -> dict[str, Any]:
    cast = make_cast(token_for)
    return {"cast": cast, "inc": report(world, headers=cast.resident)}


def whistled(world: Any, scene: dict[str, Any]) -> Any:
    """The dispatcher whistles on the scene's incident (CALL); the whistle's id."""
    r = world.post(
        f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=scene["cast"].disp
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def counts(db: Any) -> tuple[int, int, int]:
    row = db.execute(
        "SELECT (SELECT count(*) FROM whistles) AS w, "
        "(SELECT count(*) FROM whistle_checkins WHERE checked_in_at IS NOT NULL) AS k, "
        "(SELECT count(*) FROM incident_events) AS e"
    ).fetchone()
    return row["w"], row["k"], row["e"]


WHISTLES, CHECK_INS, EVENTS = 0, 1, 2  # places in counts()


def on_a_whistle(
    world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool, action: str, body: Any
) -> tuple[Any, Any, tuple[int, int, int]]:
    """The dispatcher whistles; then the cell's user posts `action` on the whistle. The whistle's
    id, the answer, and counts() just before the action."""
    whistle = whistled(world, scene)
    before = counts(db)
    r = world.post(
        f"/api/v1/whistles/{whistle}/{action}", json=body, headers=headers(scene, role, inside)
    )
    return whistle, r, before


def written_or_refused(
    r: Any, db: Any, before: tuple[int, int, int], allowed: bool, status: int, grows: int
) -> None:
    """Allowed: `status` and one more row of counts()[grows]; else 403 and nothing written."""
    if allowed:
        assert r.status_code == status, r.text
        assert counts(db)[grows] == before[grows] + 1
    else:
        forbidden(r)
        assert counts(db) == before


def test_the_capacities_named_here_are_the_policy() -> None:
    assert ACTIONS["whistler"][0] == "dispatcher" and ACTIONS["summoned"][0] == "department"


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_whistle(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    before = counts(db)
    h = headers(scene, role, inside)
    r = world.post(f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL, headers=h)
    allowed = (role, inside) in {("admin", True), ("dispatcher", True)}
    written_or_refused(r, db, before, allowed, 201, WHISTLES)


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_check_in(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    body = {"department": "CITYMGMT-001"} if role == "admin" else {}
    _whistle, r, before = on_a_whistle(world, db, scene, role, inside, "check-in", body)
    allowed = (role, inside) in {("admin", True), ("department", True)}
    written_or_refused(r, db, before, allowed, 200, CHECK_INS)


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_withdraw(world: Any, db: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    """撤哨 needs the same `whistler` capacity as whistling; a refusal ends nothing."""
    whistle, r, before = on_a_whistle(world, db, scene, role, inside, "withdraw", {})
    ended = db.execute("SELECT ended_at FROM whistles WHERE id = %s", (whistle,)).fetchone()
    allowed = (role, inside) in {("admin", True), ("dispatcher", True)}
    written_or_refused(r, db, before, allowed, 200, EVENTS)
    if allowed:
        assert r.json()["end_reason"] == "withdrawn" and ended["ended_at"] is not None
    else:
        assert ended["ended_at"] is None


def test_anonymous_whistles_and_check_ins_are_401(
    world: Any, db: Any, scene: dict[str, Any]
) -> None:
    whistle = whistled(world, scene)
    before = counts(db)
    assert world.post(f"/api/v1/incidents/{scene['inc']}/whistle", json=CALL).status_code == 401
    assert world.post(f"/api/v1/whistles/{whistle}/check-in", json={}).status_code == 401
    assert world.post(f"/api/v1/whistles/{whistle}/withdraw", json={}).status_code == 401
    assert counts(db) == before
