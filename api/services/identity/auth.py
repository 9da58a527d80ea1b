"""Users and API tokens: tokens are random, shown once, and stored only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from psycopg import Connection, errors

from api.db.models import ROLES
from api.errors import BadRequest, Conflict, NotFound
from api.services.boundaries.store import require_current_code

TOKEN_PREFIX = "ggt_"


@dataclass(frozen=True)
class User:
    """An authenticated caller."""

    id: int
    name: str
    role: str
    area_code: str | None
    department_code: str | None


def hash_token(token: str) -> str:
    """SHA-256 hex of a token; tokens have 256 bits of entropy, so no salt or slow hash needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    conn: Connection[Any], name: str, role: str, area: str | None, department: str | None
) -> User:
    """Create a user after checking role, area and department exist."""
    if role not in ROLES:
        raise BadRequest(f"Unknown role '{role}'. Roles: {', '.join(ROLES)}.")
    if role in ("dispatcher", "officer") and not area:
        raise BadRequest(f"A {role} needs an area scope (--area CODE).")
    if role == "department" and not department:
        raise BadRequest("A department user needs --department CODE.")
    if area:
        require_current_code(conn, area)
    if (
        department
        and not conn.execute("SELECT 1 FROM departments WHERE code = %s", (department,)).fetchone()
    ):
        raise NotFound(f"No department with code '{department}'.")
    try:
        row = conn.execute(
            "INSERT INTO users (name, role, area_code, department_code) VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            (name, role, area, department),
        ).fetchone()
    except errors.UniqueViolation as exc:
        raise Conflict(f"A user named '{name}' already exists.") from exc
    assert row is not None
    return User(_id(row), name, role, area, department)


def create_token(conn: Connection[Any], user_name: str, days: int | None = None) -> str:
    """Issue a new token for a user; returns the token text (never stored)."""
    row = conn.execute(
        "SELECT id FROM users WHERE name = %s AND NOT disabled", (user_name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"No active user named '{user_name}'.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, prefix, expires_at) VALUES (%s, %s, %s, %s)",
        (_id(row), hash_token(token), token[:10], expires),
    )
    return token


def user_for_token(conn: Connection[Any], token: str) -> User | None:
    """The active user holding an unexpired, unrevoked token, else None."""
    row = conn.execute(
        """
        SELECT u.id, u.name, u.role, u.area_code, u.department_code
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = %s AND t.revoked_at IS NULL AND NOT u.disabled
          AND (t.expires_at IS NULL OR t.expires_at > now())
        """,
        (hash_token(token),),
        prepare=True,
    ).fetchone()
    if row is None:
        return None
    r = (
        row
        if isinstance(row, dict)
        else dict(zip(("id", "name", "role", "area_code", "department_code"), row, strict=True))
    )
    return User(int(r["id"]), r["name"], r["role"], r["area_code"], r["department_code"])


def _id(row: Any) -> int:
    return int(row["id"] if isinstance(row, dict) else row[0])
