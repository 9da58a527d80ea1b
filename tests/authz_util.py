"""The authorization-table tests' cells: each role with a user inside its scope and one outside."""

from __future__ import annotations

from typing import Any

# role → (user in scope, user out of scope); attribute names of tests.loop.Cast
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "dispatcher": ("disp", "other_disp"),
    "officer": ("officer", "other_officer"),
    "department": ("dept", "water"),
    "resident": ("resident", "neighbour"),
}


def cells(users: dict[str, tuple[str, str | None]]) -> list[tuple[str, bool]]:
    """(role, inside) for every role and side that has a user."""
    return [(r, inside) for r in users for inside in (True, False) if users[r][0 if inside else 1]]


def cell_ids(cells: list[tuple[str, bool]]) -> list[str]:
    """Test ids of the cells: "dispatcher-in", "dispatcher-out", …"""
    return [f"{role}-{'in' if inside else 'out'}" for role, inside in cells]


CELLS = cells(USERS)
IDS = cell_ids(CELLS)


def user_of(users: dict[str, tuple[str, str | None]], role: str, inside: bool) -> str:
    """The user of a cell."""
    name = users[role][0 if inside else 1]
    assert name is not None
    return name


def headers(scene: dict[str, Any], role: str, inside: bool) -> dict[str, str]:
    """The Authorization header of a cell's user in `scene["cast"]` (tests.loop.Cast)."""
    return dict(getattr(scene["cast"], user_of(USERS, role, inside)))


def forbidden(r: Any) -> None:
    """The answer is the 403 envelope with code `forbidden`."""
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
