"""The authorization table of 综合评价 and early warning: endpoint × role × in/out of scope.

Four reports of 暴露垃圾 within a few metres in grid G1 (street 甲, routed to CITYMGMT-001, reported
by resident `res`): A and B closed through the whole loop, C and D open, C whistled to
CITYMGMT-001 and its check-in missed. The rules are `api.services.identity.policy.READ["statistics"]`
(admins all, dispatchers their area, departments their own figures; officers and residents 403)
and `READ["early_warning"]` (staff what they may list; residents 403). In scope, a caller gets
the figures; out of scope, the same answer as about nothing (zeros, empty lists, and for one
incident the 404 of an id that does not exist).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from api.services.identity.policy import READ
from tests.authz_util import CELLS, IDS, USERS, forbidden, headers
from tests.loop import G1, G2, SH, Clock, advance_to, make_cast, report

T0 = dt.datetime(2025, 11, 3, 10, 0, tzinfo=SH)


@pytest.fixture
def scene(world: Any, token_for: Any) -> dict[str, Any]:
    clock = Clock(T0)
    world.app.state.clock = clock
    cast = make_cast(token_for)
    closed = [
        report(world, headers=cast.resident, lon=116.0100 + k * 1e-4, lat=39.02) for k in (0, 1)
    ]
    for incident in closed:
        advance_to(world, cast, incident, "closed")
    opened = [
        report(world, headers=cast.resident, lon=116.0103 + k * 1e-4, lat=39.02) for k in (0, 1)
    ]
    whistle = {"departments": ["CITYMGMT-001"], "deadline_minutes": 30, "note": "联合处置"}
    r = world.post(f"/api/v1/incidents/{opened[0]}/whistle", json=whistle, headers=cast.disp)
    assert r.status_code == 201, r.text
    clock.advance(hours=2)  # the check-in is now missed: a flag
    return {"cast": cast, "closed": closed, "open": opened}


# endpoint → (surface of the policy, path, query, what the answer shows: in scope / out of scope)
Check = Callable[[dict[str, Any], dict[str, Any]], Any]


def _total(doc: dict[str, Any], _: dict[str, Any]) -> Any:
    return doc["total"]["reported"], {row["code"] for row in doc["rows"]} <= {G1, G2}


def _flags(doc: dict[str, Any], _: dict[str, Any]) -> Any:
    return [(f["kind"], f["code"]) for f in doc["flags"]]


def _series(doc: dict[str, Any], _: dict[str, Any]) -> Any:
    return sum(s["reported"] for s in doc["series"])


def _hotspots(doc: dict[str, Any], _: dict[str, Any]) -> Any:
    return [f["properties"]["count"] for f in doc["features"]]


def _repeats(doc: dict[str, Any], scene: dict[str, Any]) -> Any:
    got = [(f["properties"]["code"], f["properties"]["incidents"]) for f in doc["features"]]
    return got == [(G1, scene["closed"])] if got else []


def _duplicates(doc: dict[str, Any], scene: dict[str, Any]) -> Any:
    return [d["id"] for d in doc["possible_duplicates"]] == scene["open"][:1]


ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], Check, Any, Any]] = {
    "GET /api/v1/stats": ("statistics", "/api/v1/stats", {}, _total, (4, True), (0, True)),
    "GET /api/v1/stats/flags": (
        "statistics",
        "/api/v1/stats/flags",
        {},
        _flags,
        [("department", "CITYMGMT-001"), ("area", G1)],  # C's missed check-in
        [],
    ),
    "GET /api/v1/stats/trend": (
        "statistics",
        "/api/v1/stats/trend",
        {"code": G1, "interval": "day"},
        _series,
        4,
        0,
    ),
    "GET /api/v1/hotspots": (
        "early_warning",
        "/api/v1/hotspots",
        {"min_count": 2},
        _hotspots,
        [4],
        [],
    ),
    "GET /api/v1/repeats": (
        "early_warning",
        "/api/v1/repeats",
        {"min_count": 2, "level": "grid"},
        _repeats,
        True,
        [],
    ),
    "GET /api/v1/incidents/{incident_id}/possible-duplicates": (
        "early_warning",
        "/api/v1/incidents/{D}/possible-duplicates",
        {},
        _duplicates,
        True,
        None,  # out of scope: 404, see below
    ),
}


def may_read(surface: str, role: str) -> bool:
    return READ[surface][role] != ("none",)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_insights(
    world: Any, scene: dict[str, Any], role: str, inside: bool, endpoint: str
) -> None:
    surface, path, params, check, seen_in, seen_out = ENDPOINTS[endpoint]
    path = path.replace("{D}", scene["open"][1])
    r = world.get(path, params=params, headers=headers(scene, role, inside))
    if not may_read(surface, role):
        forbidden(r)
        return
    if seen_out is None and not inside:  # one incident out of scope: exactly "no such incident"
        assert r.status_code == 404, r.text
        nothing = world.get(
            "/api/v1/incidents/20251103-999999/possible-duplicates",
            headers=headers(scene, role, inside),
        )
        assert nothing.status_code == 404
        assert r.text.replace(scene["open"][1], "ID") == nothing.text.replace(
            "20251103-999999", "ID"
        )
        return
    assert r.status_code == 200, r.text
    assert check(r.json(), scene) == (seen_in if inside else seen_out)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_insights_are_401(world: Any, scene: dict[str, Any], endpoint: str) -> None:
    path = ENDPOINTS[endpoint][1].replace("{D}", scene["open"][1])
    r = world.get(path, params=ENDPOINTS[endpoint][2])
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_the_rules_as_stated() -> None:
    """Who reads statistics and early warning at all (the rest of the cell is the scope)."""
    assert {r for r in USERS if may_read("statistics", r)} == {"admin", "dispatcher", "department"}
    assert {r for r in USERS if may_read("early_warning", r)} == {*USERS} - {"resident"}
    for role in ("admin", "dispatcher", "officer", "department"):  # staff: what they may list
        assert READ["early_warning"][role] == READ["incident_list"][role]
