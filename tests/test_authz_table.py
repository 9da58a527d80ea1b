"""The authorization policy as a table: endpoint × role × in-scope/out-of-scope.

One incident (SJ0102 in grid G1 of street 甲, routed to CITYMGMT-001, reported by resident `res`)
and, for every role, a user whose scope holds it and one whose scope does not. Every allowed cell
must work and every forbidden cell must be refused (401/403) or filtered (absent from lists, the
public view instead of the full document) — with nothing written.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.services.identity.policy import ACTIONS, READ
from api.services.workflow.machine import WHO
from tests.authz_util import CELLS, IDS, USERS, forbidden, headers
from tests.loop import act, make_cast, report

# the action each role may take on a freshly reported incident inside its scope
ACTION_OF = {
    "admin": "register",
    "dispatcher": "register",
    "officer": "self_handle",
    "resident": "add_info",
}
PUBLIC_INCIDENT_KEYS = {"category", "category_name", "status", "overdue", "grid", "reported_at"}


@pytest.fixture
def scene(world: Any, token_for: Any) -> dict[str, Any]:
    cast = make_cast(token_for)
    inc = report(world, headers=cast.resident)
    return {"cast": cast, "inc": inc}


def counts(db: Any) -> tuple[int, int]:
    row = db.execute(
        "SELECT (SELECT count(*) FROM incidents) AS i, (SELECT count(*) FROM incident_events) AS e"
    ).fetchone()
    return row["i"], row["e"]


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_list_filters(world: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    r = world.get("/api/v1/incidents", headers=headers(scene, role, inside))
    assert r.status_code == 200, r.text
    ids = [f["id"] for f in r.json()["features"]]
    assert ids == ([scene["inc"]] if inside else [])


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_detail_full_or_public(world: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    r = world.get(f"/api/v1/incidents/{scene['inc']}", headers=headers(scene, role, inside))
    assert r.status_code == 200, r.text
    doc = r.json()
    first = doc["events"][0]
    if inside:
        assert first["actor"] == "res" and "reporter" in doc
    else:  # the public view, exactly as an anonymous caller gets it
        assert first["actor"] is None and first["note"] is None and "reporter" not in doc
        anonymous = world.get(f"/api/v1/incidents/{scene['inc']}").json()
        assert doc == anonymous


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_actions(world: Any, scene: dict[str, Any], db: Any, role: str, inside: bool) -> None:
    inc, cast = scene["inc"], scene["cast"]
    if role == "department":  # the department acts once the incident is dispatched to it
        assert act(world, inc, cast.disp, "register").status_code == 200
        assert act(world, inc, cast.disp, "dispatch").status_code == 200
        action = "accept"
    else:
        action = ACTION_OF[role]
    body: dict[str, Any] = {"note": "现场已处理"} if action in ("self_handle", "add_info") else {}
    before = counts(db)
    r = act(world, inc, headers(scene, role, inside), action, **body)
    if inside:
        assert r.status_code == 200, r.text
        assert counts(db) == (before[0], before[1] + 1)
    else:
        forbidden(r)
        assert counts(db) == before


@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_whistle_list_filters(world: Any, scene: dict[str, Any], role: str, inside: bool) -> None:
    inc, cast = scene["inc"], scene["cast"]
    body = {"departments": ["CITYMGMT-001"], "deadline_minutes": 30, "note": "联合处置"}
    r = world.post(f"/api/v1/incidents/{inc}/whistle", json=body, headers=cast.disp)
    assert r.status_code == 201, r.text
    r = world.get("/api/v1/whistles", headers=headers(scene, role, inside))
    if READ["whistle_list"][role] == ("none",):  # residents: whistles are staff business
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        return
    assert r.status_code == 200, r.text
    listed = [w["incident"] for w in r.json()["whistles"]]
    assert listed == ([inc] if inside else [])


@pytest.mark.parametrize(
    "path", ["/api/v1/incidents", "/api/v1/whistles", "/api/v1/stream"], ids=lambda p: p
)
def test_anonymous_lists_refused(world: Any, scene: dict[str, Any], path: str) -> None:
    r = world.get(path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("action", ["register", "self_handle", "add_info", "accept"])
def test_anonymous_actions_refused(world: Any, scene: dict[str, Any], db: Any, action: str) -> None:
    before = counts(db)
    r = act(world, scene["inc"], {}, action, note="x")
    assert r.status_code == 401 and counts(db) == before


@pytest.mark.parametrize("role", [*USERS, "anonymous"])
def test_public_feeds_carry_public_fields_only(
    world: Any, scene: dict[str, Any], role: str
) -> None:
    h = {} if role == "anonymous" else headers(scene, role, True)
    items = world.get("/ogc/collections/incidents/items", headers=h)
    assert items.status_code == 200
    (feature,) = items.json()["features"]
    assert PUBLIC_INCIDENT_KEYS <= set(feature["properties"])
    assert not {"description", "reporter", "department", "actor"} & set(feature["properties"])
    r = world.get("/open311/v2/requests.json", headers=h)
    assert r.status_code == 200
    (req,) = r.json()
    text = r.text
    assert req["service_request_id"] == scene["inc"]
    assert "res" not in {req.get("first_name"), req.get("last_name")} and "phone" not in req
    assert "reporter" not in text


def test_tables_agree_with_the_workflow() -> None:
    """Every capacity WHO names is stated in the policy, and every role has a read rule."""
    assert {c for caps in WHO.values() for c in caps} <= set(ACTIONS)
    for surface in READ.values():
        assert set(surface) == {*USERS, "anonymous"}
