"""Page logins: argon2id password hashes and server-side sessions with a CSRF token each."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import Connection

from api.errors import NotFound, Unauthorized
from api.services.identity.auth import User, hash_token
from api.services.identity.password_policy import check_password

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("gridgov-timing-equaliser")


@dataclass(frozen=True)
class Session:
    """A signed-in page user and the CSRF token their pages must echo."""

    user: User
    csrf_token: str


def set_password(conn: Connection[Any], name: str, password: str) -> None:
    """Store an argon2id hash of a new password (and end the user's sessions)."""
    check_password(password, name)  # length, the common list, variety, not the name
    done = conn.execute(
        "UPDATE users SET password_hash = %s WHERE name = %s RETURNING id",
        (_hasher.hash(password), name),
    ).fetchone()
    if done is None:
        raise NotFound(f"No user named '{name}'.")
    conn.execute("DELETE FROM sessions WHERE user_id = %s", (done["id"],))


def login(conn: Connection[Any], name: str, password: str, hours: float) -> tuple[str, Session]:
    """Check the password; returns (cookie value, session). Same message for any failure."""
    row = conn.execute(
        "SELECT id, name, role, area_code, department_code, password_hash FROM users "
        "WHERE name = %s AND NOT disabled",
        (name,),
    ).fetchone()
    try:
        _hasher.verify(
            row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH, password
        )
        ok = row is not None and row["password_hash"] is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        raise Unauthorized("Wrong user name or password.")
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES (%s, %s, %s, %s)",
        (hash_token(cookie), row["id"], csrf, dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)),
    )
    user = User(int(row["id"]), row["name"], row["role"], row["area_code"], row["department_code"])
    return cookie, Session(user, csrf)


# The live session and its user, and a touch of `last_seen_at` (a record, read by nothing) that
# never waits: a page's parallel requests share one session, and an UPDATE that waited for the
# row lock held each of them until the one before had committed — the dispatch console's whistles
# waited for its incident page, everything for the hotspots (docs/performance.md, 2026-12-05
# afternoon). A request that finds the row locked leaves the touch to the one holding it.
SESSION_SQL = """
WITH live AS (
    SELECT s.id_hash, u.id, u.name, u.role, u.area_code, u.department_code, s.csrf_token
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id_hash = %(hash)s AND NOT u.disabled AND s.expires_at > now()
), touched AS (
    UPDATE sessions t SET last_seen_at = now()
    WHERE t.id_hash = (SELECT l.id_hash FROM sessions l JOIN live USING (id_hash)
                       FOR UPDATE OF l SKIP LOCKED)
)
SELECT id, name, role, area_code, department_code, csrf_token FROM live
"""


def session_for_cookie(conn: Connection[Any], cookie: str) -> Session | None:
    """The live session behind a cookie value (expired sessions and disabled users: None)."""
    row = conn.execute(SESSION_SQL, {"hash": hash_token(cookie)}, prepare=True).fetchone()
    if row is None:
        return None
    user = User(int(row["id"]), row["name"], row["role"], row["area_code"], row["department_code"])
    return Session(user, row["csrf_token"])


def logout(conn: Connection[Any], cookie: str) -> None:
    """End a session."""
    conn.execute("DELETE FROM sessions WHERE id_hash = %s", (hash_token(cookie),))
