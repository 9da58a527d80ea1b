"""Scope checks shared by every service: is an area inside a user's area scope?

Scope follows the area hierarchy through parent codes (not code prefixes, since any unique string
may be a code). Admins are scoped to everything.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import Forbidden
from api.services.identity.auth import User

# The area and its current ancestors, nearest first.
ANCESTORS_SQL = """
WITH RECURSIVE up AS (
    SELECT code, parent_code, level, 0 AS depth FROM areas
    WHERE code = %(code)s AND valid_to IS NULL
    UNION ALL
    SELECT a.code, a.parent_code, a.level, up.depth + 1 FROM areas a
    JOIN up ON a.code = up.parent_code AND a.valid_to IS NULL
    WHERE up.depth < 12
)
SELECT code, level FROM up ORDER BY depth
"""


def ancestors(conn: Connection[Any], code: str) -> list[dict[str, Any]]:
    """[{code, level}] of the area itself and its ancestors, nearest first."""
    return list(conn.execute(ANCESTORS_SQL, {"code": code}, prepare=True).fetchall())


def area_in_scope(conn: Connection[Any], user: User, code: str | None) -> bool:
    """Whether `code` is the user's scope area or lies below it (admins: always)."""
    if user.role == "admin":
        return True
    if code is None or user.area_code is None:
        return False
    return any(a["code"] == user.area_code for a in ancestors(conn, code))


def require_area_scope(conn: Connection[Any], user: User, code: str | None, action: str) -> None:
    """Refuse (403) when the area lies outside the user's scope."""
    if not area_in_scope(conn, user, code):
        raise Forbidden(
            f"You may not {action} here: area {code or '(none)'} is outside your scope "
            f"({user.area_code or 'no area'}).",
            {"area": code, "scope": user.area_code},
        )
