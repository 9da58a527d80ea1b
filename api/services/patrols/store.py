"""Patrols: start, members, end, the document and the list, and who may see positions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from api.schemas.patrols import PatrolIn, utc
from api.services.identity.access import area_in_scope
from api.services.identity.auth import User
from api.settings import Settings
from gis.patrols import PATROL_TOTALS_SQL

LEADER_ROLES = ("officer", "department")  # who walks: grid officers and department staff
MEMBER_ROLES = ("officer", "department")
POSITION_ROLES = ("admin", "dispatcher")  # who sees positions (of their scope)

# Dispatchers' scope: patrols whose area lies in the subtree of %(root)s.
SCOPE_SQL = """
WITH RECURSIVE sub AS (
    SELECT code FROM areas WHERE code = %(root)s AND valid_to IS NULL
    UNION SELECT a.code FROM areas a JOIN sub ON a.parent_code = sub.code AND a.valid_to IS NULL
)"""


ONE_SQL = "SELECT * FROM patrols WHERE id = %s"
LIST_SQL = """
SELECT p.id, p.leader, p.department_code AS department, p.area_code AS area, p.started_at,
       p.ended_at, l.at AS last_fix_at, l.lon, l.lat
FROM patrols p
LEFT JOIN LATERAL (SELECT f.at, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat FROM patrol_fixes f
                   WHERE f.patrol_id = p.id AND NOT f.inaccurate AND NOT f.jump
                   ORDER BY f.at DESC LIMIT 1) l ON true
WHERE p.started_at >= %(since)s AND {cond}
ORDER BY p.started_at DESC, p.id DESC LIMIT 5000"""


def load_patrol(conn: Connection[Any], patrol_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The patrol row, or 404."""
    query = "SELECT * FROM patrols WHERE id = %s FOR UPDATE" if lock else ONE_SQL
    row = conn.execute(query, (patrol_id,)).fetchone()
    if row is None:
        raise NotFound(f"No patrol {patrol_id}.", {"patrol": patrol_id})
    return dict(row)


def is_member(conn: Connection[Any], patrol_id: int, user: User, confirmed: bool = False) -> bool:
    row = conn.execute(
        "SELECT confirmed_at FROM patrol_members WHERE patrol_id = %s AND user_id = %s",
        (patrol_id, user.id),
    ).fetchone()
    return row is not None and (not confirmed or row["confirmed_at"] is not None)


def sees_positions(conn: Connection[Any], user: User, patrol: dict[str, Any]) -> bool:
    """Positions: admins, and dispatchers whose scope holds the patrol's area."""
    if user.role == "admin":
        return True
    return user.role == "dispatcher" and area_in_scope(conn, user, patrol["area_code"])


def require_view(conn: Connection[Any], user: User, patrol: dict[str, Any]) -> None:
    """The patrol document: its leader, its members, and those who see its positions."""
    if patrol["leader_user_id"] == user.id or is_member(conn, patrol["id"], user):
        return
    if not sees_positions(conn, user, patrol):
        raise Forbidden(
            f"Patrol {patrol['id']} is not yours and lies outside your scope.",
            {"patrol": patrol["id"]},
        )


def require_leader(user: User, patrol: dict[str, Any]) -> None:
    if patrol["leader_user_id"] != user.id:
        raise Forbidden(
            f"Only the leader of patrol {patrol['id']} sends its positions and ends it.",
            {"patrol": patrol["id"]},
        )


def _members(conn: Connection[Any], names: list[str], leader: User) -> list[dict[str, Any]]:
    if len(set(names)) != len(names):
        raise ValidationFailed(
            "Name each member once.",
            {"problems": [{"field": "members", "problem": "repeated"}]},
        )
    rows = conn.execute(
        "SELECT id, name, role, department_code FROM users WHERE name = ANY(%s) AND NOT disabled",
        (names,),
    ).fetchall()
    found = {r["name"]: r for r in rows}
    bad = [n for n in names if n not in found or found[n]["role"] not in MEMBER_ROLES]
    bad += [n for n in names if n == leader.name]
    if bad:
        raise ValidationFailed(
            f"Members must be other grid officers or department staff: {', '.join(bad)}.",
            {"problems": [{"field": "members", "problem": f"not a member: {n}"} for n in bad]},
        )
    return [dict(found[n]) for n in names]


def start_patrol(
    conn: Connection[Any], user: User, body: PatrolIn, now: dt.datetime
) -> tuple[int, bool]:
    """Start a patrol; (id, created). A repeated `client_id` returns the first one."""
    if user.role not in LEADER_ROLES:
        raise Forbidden(
            "Patrols are started by grid officers and department staff.",
            {"role": user.role, "needed": list(LEADER_ROLES)},
        )
    if body.client_id:
        seen = conn.execute(
            "SELECT id FROM patrols WHERE leader_user_id = %s AND client_id = %s",
            (user.id, body.client_id),
        ).fetchone()
        if seen:
            return int(seen["id"]), False
    members = _members(conn, body.members, user)
    area = user.area_code
    if area is None and user.department_code:
        row = conn.execute(
            "SELECT area_code FROM departments WHERE code = %s", (user.department_code,)
        ).fetchone()
        area = row["area_code"] if row else None
    started = utc(body.started_at) if body.started_at else now
    if started > now + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "The start time lies in the future.",
            {"problems": [{"field": "started_at", "problem": "in the future"}]},
        )
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO patrols (leader_user_id, leader, department_code, area_code, client_id, "
            "started_at, note) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (leader_user_id, client_id) DO NOTHING RETURNING id",
            (user.id, user.name, user.department_code, area, body.client_id, started, body.note),
        ).fetchone()
        if row is None:  # a concurrent start with the same client_id won
            return start_patrol(conn, user, body, now)
        pid = int(row["id"])
        for m in members:
            conn.execute(
                "INSERT INTO patrol_members (patrol_id, user_id, name, department_code) "
                "VALUES (%s, %s, %s, %s)",
                (pid, m["id"], m["name"], m["department_code"]),
            )
    return pid, True


def join_patrol(conn: Connection[Any], user: User, patrol_id: int, now: dt.datetime) -> None:
    """A member confirms joining (idempotent)."""
    patrol = load_patrol(conn, patrol_id)
    if not is_member(conn, patrol_id, user):
        raise Forbidden(f"You were not asked to join patrol {patrol_id}.", {"patrol": patrol_id})
    if patrol["ended_at"] is not None:
        raise Conflict(f"Patrol {patrol_id} has ended.", {"patrol": patrol_id})
    conn.execute(
        "UPDATE patrol_members SET confirmed_at = coalesce(confirmed_at, %s) "
        "WHERE patrol_id = %s AND user_id = %s",
        (now, patrol_id, user.id),
    )


def end_patrol(
    conn: Connection[Any], user: User, patrol_id: int, at: dt.datetime | None, now: dt.datetime
) -> None:
    """End a patrol (ending it again changes nothing)."""
    with conn.transaction():
        patrol = load_patrol(conn, patrol_id, lock=True)
        require_leader(user, patrol)
        if patrol["ended_at"] is not None:
            return
        end = min(utc(at), now) if at else now
        end = max(end, patrol["started_at"])
        conn.execute("UPDATE patrols SET ended_at = %s WHERE id = %s", (end, patrol_id))


def patrol_document(
    conn: Connection[Any], settings: Settings, user: User, patrol_id: int
) -> dict[str, Any]:
    """A patrol: who, when, distance and time of the clean track, flags; no positions."""
    p = load_patrol(conn, patrol_id)
    require_view(conn, user, p)
    cfg = settings.patrols
    totals = conn.execute(
        PATROL_TOTALS_SQL,
        {
            "since": p["started_at"] - dt.timedelta(days=1),
            "until": dt.datetime.max.replace(tzinfo=dt.UTC),
            "max_seg": cfg.patrol_max_segment_s,
            "patrol": patrol_id,
        },
    ).fetchone()
    assert totals is not None
    counts = conn.execute(
        "SELECT count(*) AS fixes, count(*) FILTER (WHERE inaccurate) AS inaccurate, "
        "count(*) FILTER (WHERE jump) AS jump, count(*) FILTER (WHERE outside) AS outside, "
        "max(at) AS last_fix_at FROM patrol_fixes WHERE patrol_id = %s",
        (patrol_id,),
    ).fetchone()
    assert counts is not None
    members = conn.execute(
        "SELECT name, department_code AS department, confirmed_at FROM patrol_members "
        "WHERE patrol_id = %s ORDER BY name",
        (patrol_id,),
    ).fetchall()
    reports = conn.execute(
        "SELECT i.public_id FROM patrol_reports r JOIN incidents i ON i.id = r.incident_id "
        "WHERE r.patrol_id = %s ORDER BY i.id",
        (patrol_id,),
    ).fetchall()
    return {
        "id": p["id"],
        "leader": p["leader"],
        "department": p["department_code"],
        "area": p["area_code"],
        "started_at": p["started_at"],
        "ended_at": p["ended_at"],
        "note": p["note"],
        "members": [dict(m) | {"confirmed": m["confirmed_at"] is not None} for m in members],
        "distance_m": round(float(totals["distance_m"]), 1),
        "seconds": round(float(totals["seconds"]), 1),
        "fixes": counts["fixes"],
        "flagged": {k: counts[k] for k in ("inaccurate", "jump", "outside")},
        "last_fix_at": counts["last_fix_at"],
        "reports": [r["public_id"] for r in reports],
        "positions_visible": sees_positions(conn, user, p),
    }


def list_patrols(
    conn: Connection[Any], user: User, *, active: bool | None, since: dt.datetime
) -> list[dict[str, Any]]:
    """Patrols started since `since` the caller may see; the last position for those who may
    see positions (dispatchers and admins of the scope), never for others."""
    if user.role == "resident":
        raise Forbidden("Patrols are staff business.", {"role": user.role})
    positions = user.role in POSITION_ROLES
    params: dict[str, Any] = {"since": since, "uid": user.id, "root": user.area_code}
    if user.role == "admin":
        head, cond = "", "true"
    elif user.role == "dispatcher":
        head, cond = SCOPE_SQL, "p.area_code IN (SELECT code FROM sub)"
    else:
        head = ""
        cond = (
            "(p.leader_user_id = %(uid)s OR EXISTS (SELECT 1 FROM patrol_members m "
            "WHERE m.patrol_id = p.id AND m.user_id = %(uid)s))"
        )
    if active is not None:
        cond += " AND (p.ended_at IS NULL) = %(active)s"
        params["active"] = active
    query = sql.SQL(head) + sql.SQL(LIST_SQL).format(cond=sql.SQL(cond))
    rows = conn.execute(query, params).fetchall()
    out = []
    for r in rows:
        doc = {k: r[k] for k in ("id", "leader", "department", "area", "started_at", "ended_at")}
        doc["last_fix_at"] = r["last_fix_at"]
        if positions and r["lon"] is not None:
            doc["last"] = {"lon": r["lon"], "lat": r["lat"], "at": r["last_fix_at"]}
        out.append(doc)
    return out


def check_patrol_report(
    conn: Connection[Any], user: User | None, patrol_id: int, source: str
) -> None:
    """A report linked to a patrol has source `patrol` and comes from its leader or a
    confirmed member."""
    if source != "patrol":
        raise ValidationFailed(
            "A report linked to a patrol has the source 'patrol'.",
            {"problems": [{"field": "source", "problem": "must be patrol"}]},
        )
    p = load_patrol(conn, patrol_id)
    if user is None or not (
        p["leader_user_id"] == user.id or is_member(conn, patrol_id, user, confirmed=True)
    ):
        raise Forbidden(
            f"Only the members of patrol {patrol_id} report problems found on it.",
            {"patrol": patrol_id},
        )


def link_report(conn: Connection[Any], patrol_id: int, public_id: str) -> None:
    conn.execute(
        "INSERT INTO patrol_reports (patrol_id, incident_id) "
        "SELECT %s, id FROM incidents WHERE public_id = %s ON CONFLICT DO NOTHING",
        (patrol_id, public_id),
    )
