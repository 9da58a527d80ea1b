"""The authorization table of boundary editing: operation × role × in-scope/out-of-scope.

Scope here is the area: "in" users' scope holds community C1 (officer of C1, dispatcher of street
甲, CITYMGMT-001 of street 甲, the resident who lives there), "out" users' scope is elsewhere
(officer of community C2, dispatcher of street 乙, WATER, a neighbour). The rule is
`api.services.identity.policy.EDIT_AREAS`: admins anywhere, officers inside their area, nobody else.
Allowed cells must store exactly their versions; refused ones answer 401/403 and store nothing.
Areas are public reference data (`GET /api/v1/areas/{code}` answers anyone), so a 403 on an
existing area tells nothing a caller could not read anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.services.identity.policy import EDIT_AREAS
from tests.areas_util import C1, C2, G1, G2, STRIP, etag, grid_feature, poly
from tests.authz_util import USERS as AUTHZ_USERS
from tests.authz_util import cell_ids, cells, forbidden, user_of
from tests.loop import make_cast

USERS = {**AUTHZ_USERS, "officer": ("c1_officer", "c2_officer")}
CELLS = cells(USERS)
IDS = cell_ids(CELLS)


@pytest.fixture
def people(token_for: Any) -> dict[str, dict[str, str]]:
    users: dict[str, dict[str, str]] = dict(vars(make_cast(token_for)))
    users["c1_officer"] = token_for("c1-officer", "officer", C1)
    users["c2_officer"] = token_for("c2-officer", "officer", C2)
    return users


def headers_of(people: dict[str, dict[str, str]], role: str, inside: bool) -> dict[str, str]:
    return dict(people[user_of(USERS, role, inside)])


def state(db: Any) -> tuple[int, int]:
    """(area versions stored, current areas): what an edit changes."""
    row = db.execute(
        "SELECT count(*) AS n, count(*) FILTER (WHERE valid_to IS NULL) AS cur FROM areas"
    ).fetchone()
    return row["n"], row["cur"]


def create(world: Any, h: dict[str, str]) -> Any:
    return world.post("/api/v1/areas", json=grid_feature(STRIP), headers=h)


def update(world: Any, h: dict[str, str]) -> Any:
    body = {"type": "Feature", "geometry": None, "properties": {"name": "改名网格"}}
    return world.put(f"/api/v1/areas/{G1}", json=body, headers={**h, "If-Match": etag(world, G1)})


def retire(world: Any, h: dict[str, str]) -> Any:
    return world.delete(f"/api/v1/areas/{G1}", headers={**h, "If-Match": etag(world, G1)})


def preview(world: Any, h: dict[str, str]) -> Any:
    body = {"type": "Feature", "geometry": poly(116.0, 39.0, 116.02, 39.05), "properties": {}}
    return world.post(
        f"/api/v1/areas/{G1}/preview", json=body, headers={**h, "If-Match": etag(world, G1)}
    )


def split(world: Any, h: dict[str, str]) -> Any:
    line = {"type": "LineString", "coordinates": [[116.03, 38.9], [116.03, 39.1]]}
    return world.post(
        f"/api/v1/areas/{G2}/split",
        json={"type": "Feature", "geometry": line},
        headers={**h, "If-Match": etag(world, G2)},
    )


def merge(world: Any, h: dict[str, str]) -> Any:
    match = f"{etag(world, G1)}, {etag(world, G2)}"
    return world.post(
        "/api/v1/areas/merge", json={"codes": [G1, G2]}, headers={**h, "If-Match": match}
    )


# operation → (call, success status, (Δ versions stored, Δ current areas) when allowed)
OPS: dict[str, tuple[Callable[[Any, dict[str, str]], Any], int, tuple[int, int]]] = {
    "POST /api/v1/areas": (create, 201, (1, 1)),
    "PUT /api/v1/areas/{code}": (update, 200, (1, 0)),
    "DELETE /api/v1/areas/{code}": (retire, 200, (0, -1)),
    "POST /api/v1/areas/{code}/preview": (preview, 200, (0, 0)),
    "POST /api/v1/areas/{code}/split": (split, 200, (2, 1)),
    "POST /api/v1/areas/merge": (merge, 200, (1, -1)),
}


def allowed(role: str, inside: bool) -> bool:
    """The policy's answer for a user of `role` on an area inside / outside their scope."""
    rule = EDIT_AREAS[role]
    return rule == "all" or (rule == "scope" and inside)


def test_the_rule_is_admins_anywhere_and_officers_inside_their_area() -> None:
    assert {(r, i) for r, i in CELLS if allowed(r, i)} == {("admin", True), ("officer", True)}
    assert EDIT_AREAS["anonymous"] == "none"


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("role", "inside"), CELLS, ids=IDS)
def test_area_edits(
    world: Any, db: Any, people: dict[str, dict[str, str]], role: str, inside: bool, op: str
) -> None:
    call, status, delta = OPS[op]
    before = state(db)
    r = call(world, headers_of(people, role, inside))
    after = state(db)
    if allowed(role, inside):
        assert r.status_code == status, r.text
        assert (after[0] - before[0], after[1] - before[1]) == delta
        if op.endswith("/preview"):  # shows what would move, stores nothing
            assert "impact" in r.json()
    else:
        forbidden(r)
        assert after == before


@pytest.mark.parametrize("op", OPS)
def test_anonymous_area_edits_are_401(world: Any, db: Any, op: str) -> None:
    before = state(db)
    r = OPS[op][0](world, {})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert state(db) == before


def test_officer_out_of_scope_is_told_the_area_not_more(
    world: Any, people: dict[str, dict[str, str]]
) -> None:
    """The refusal names the area asked about (public) and the caller's own scope only."""
    r = update(world, people["c2_officer"])
    assert r.status_code == 403
    assert r.json()["error"]["details"] == {"area": G1, "scope": C2}
    assert world.get(f"/api/v1/areas/{G1}").status_code == 200  # existence is public anyway
