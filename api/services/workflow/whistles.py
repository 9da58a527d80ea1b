"""吹哨报到: a dispatcher whistles on an incident, summoned departments report in by a deadline.

A whistle and each check-in are rows of their own and also events in the incident's log (status
unchanged), so the live stream and the timeline show them like any other step. A whistle ends
when its case is closed or rejected (`end_whistles`, called by the workflow action) or when a
dispatcher withdraws it (`withdraw_whistle`); summonses still pending then are `cancelled`, those
already past their deadline stay `missing`, and nobody can report in to an ended whistle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from api.services.identity.auth import User
from api.services.identity.policy import require_read
from api.services.identity.visibility import incident_visibility
from api.services.paging import page_of
from api.services.reference import unknown_codes
from api.services.workflow.events import append_aside
from api.services.workflow.machine import (
    WHISTLE_STATES,
    Situation,
    load_incident,
    load_situation,
)

# A whistle is open while it has not ended and some summoned department has not reported in
# (the same test is WHISTLE_JSON's 'open').
OPEN_SQL = (
    "(w.ended_at IS NULL AND EXISTS (SELECT 1 FROM whistle_checkins k "
    "WHERE k.whistle_id = w.id AND k.checked_in_at IS NULL))"
)
END_REASONS = ("closed", "rejected", "withdrawn")

# One whistle as JSON; `full` shows who whistled and who reported in.
WHISTLE_JSON = """jsonb_build_object(
    'id', w.id, 'incident', i.public_id, 'incident_status', i.status,
    'called_by', CASE WHEN %(full)s THEN w.called_by END, 'area', w.area_code,
    'called_at', w.called_at, 'deadline_minutes', w.deadline_minutes,
    'deadline_at', w.deadline_at, 'note', CASE WHEN %(full)s THEN w.note END,
    'open', (w.ended_at IS NULL AND EXISTS (SELECT 1 FROM whistle_checkins k
                                            WHERE k.whistle_id = w.id AND k.checked_in_at IS NULL)),
    'ended_at', w.ended_at, 'end_reason', w.end_reason,
    'ended_by', CASE WHEN %(full)s THEN w.ended_by END,
    'check_ins', (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'department', k.department_code, 'name', d.name,
            'checked_in_at', k.checked_in_at, 'late', k.late,
            'checked_in_by', CASE WHEN %(full)s THEN k.checked_in_by END,
            'state', CASE WHEN k.checked_in_at IS NOT NULL
                          THEN CASE WHEN k.late THEN 'late' ELSE 'on_time' END
                          WHEN k.cancelled_at IS NOT NULL THEN 'cancelled'
                          WHEN w.deadline_at < now() OR w.ended_at IS NOT NULL THEN 'missing'
                          ELSE 'pending' END)
            ORDER BY k.department_code), '[]'::jsonb)
        FROM whistle_checkins k JOIN departments d ON d.code = k.department_code
        WHERE k.whistle_id = w.id))"""

ONE_SQL = sql.SQL(
    "SELECT {doc} AS doc FROM whistles w JOIN incidents i ON i.id = w.incident_id "
    "WHERE w.id = %(id)s"
).format(doc=sql.SQL(WHISTLE_JSON))


def whistle_detail(conn: Connection[Any], whistle_id: int, *, full: bool = True) -> dict[str, Any]:
    """One whistle with its check-ins."""
    row = conn.execute(ONE_SQL, {"id": whistle_id, "full": full}).fetchone()
    if row is None:
        raise NotFound(f"No whistle {whistle_id}.")
    return dict(row["doc"])


def _as_whistler(
    conn: Connection[Any], user: User, public_id: str, action: str, refusal: str
) -> tuple[dict[str, Any], Situation]:
    """The incident, locked, and `user`'s situation on it; 403 with `refusal` unless they are a
    whistler there (a street or district dispatcher of its area, or an admin)."""
    inc = load_incident(conn, public_id, lock=True)
    s = load_situation(conn, user, inc)
    if "whistler" not in s.caps:
        raise Forbidden(refusal, {"action": action, "needed": ["whistler"]})
    return inc, s


def blow_whistle(
    conn: Connection[Any],
    user: User,
    public_id: str,
    departments: list[str],
    deadline_minutes: int,
    note: str | None,
    now: dt.datetime,
) -> int:
    """吹哨: summon departments to an incident; returns the whistle id."""
    if len(set(departments)) != len(departments):
        raise BadRequest("Name each summoned department once.", {"departments": departments})
    with conn.transaction():
        inc, s = _as_whistler(
            conn,
            user,
            public_id,
            "whistle",
            "Only a street or district dispatcher of this incident's area (or an admin) "
            "may whistle on it.",
        )
        if s.status not in WHISTLE_STATES:
            raise InvalidTransition(
                f"Cannot whistle on incident {public_id} while it is {s.status}.",
                {"action": "whistle", "status": s.status, "whistle_states": sorted(WHISTLE_STATES)},
            )
        missing = unknown_codes(conn, "departments", departments)
        if missing:
            raise ValidationFailed(
                f"Unknown department {', '.join(missing)}.",
                {
                    "problems": [
                        {"field": "departments", "problem": f"unknown {c}"} for c in missing
                    ]
                },
            )
        deadline = now + dt.timedelta(minutes=deadline_minutes)
        row = conn.execute(
            "INSERT INTO whistles (incident_id, called_by, area_code, called_at, "
            "deadline_minutes, deadline_at, note) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (inc["id"], user.name, user.area_code, now, deadline_minutes, deadline, note),
        ).fetchone()
        assert row is not None
        whistle_id = int(row["id"])
        for code in departments:
            conn.execute(
                "INSERT INTO whistle_checkins (whistle_id, department_code) VALUES (%s, %s)",
                (whistle_id, code),
            )
        append_aside(
            conn,
            inc,
            "whistle",
            at=now,
            actor=user.name,
            note=note,
            data={
                "whistle_id": whistle_id,
                "departments": departments,
                "deadline_minutes": deadline_minutes,
                "deadline_at": deadline,
            },
        )
    return whistle_id


def check_in(
    conn: Connection[Any], user: User, whistle_id: int, department: str | None, now: dt.datetime
) -> None:
    """报到: a summoned department reports in; late when after the whistle's deadline."""
    if user.role == "department":
        if department not in (None, user.department_code):
            raise Forbidden("You can only report in for your own department.")
        department = user.department_code
    elif user.role == "admin":
        if department is None:
            raise ValidationFailed(
                "Name the department reporting in.",
                {"problems": [{"field": "department", "problem": "required for admins"}]},
            )
    else:
        raise Forbidden("Only a summoned department reports in.", {"action": "check_in"})
    with conn.transaction():
        # Lock the incident first (as every action does) so its log stays in order.
        w = conn.execute(
            "SELECT w.deadline_at, w.called_at, w.ended_at, w.end_reason, "
            "i.id, i.public_id, i.status "
            "FROM whistles w JOIN incidents i ON i.id = w.incident_id WHERE w.id = %s "
            "FOR UPDATE OF i",
            (whistle_id,),
        ).fetchone()
        if w is None:
            raise NotFound(f"No whistle {whistle_id}.")
        duty = conn.execute(
            "SELECT checked_in_at FROM whistle_checkins WHERE whistle_id = %s "
            "AND department_code = %s FOR UPDATE",
            (whistle_id, department),
        ).fetchone()
        if duty is None:
            raise Forbidden(
                f"Department {department} was not summoned by whistle {whistle_id}.",
                {"action": "check_in", "department": department},
            )
        if duty["checked_in_at"] is not None:
            raise Conflict(
                f"Department {department} already reported in at "
                f"{duty['checked_in_at'].isoformat()}.",
                {"checked_in_at": duty["checked_in_at"]},
            )
        if w["ended_at"] is not None:
            raise Conflict(
                f"Whistle {whistle_id} has ended; there is nothing to report in for.",
                {"action": "check_in", "end_reason": w["end_reason"]},
            )
        late = now > w["deadline_at"]
        conn.execute(
            "UPDATE whistle_checkins SET checked_in_at = %s, checked_in_by = %s, late = %s "
            "WHERE whistle_id = %s AND department_code = %s",
            (now, user.name, late, whistle_id, department),
        )
        append_aside(
            conn,
            w,
            "check_in",
            at=now,
            actor=user.name,
            department=department,
            data={
                "whistle_id": whistle_id,
                "late": late,
                "minutes_after_call": round((now - w["called_at"]).total_seconds() / 60, 1),
            },
        )


def list_whistles(
    conn: Connection[Any],
    user: User,
    *,
    open_: bool | None,
    limit: int,
    cursor: int | None,
    incident_open: bool | None = None,
) -> dict[str, Any]:
    """Whistles on incidents the user may follow, oldest first, keyset-paged by id.

    `incident_open`: only those on incidents still open (True) or closed/rejected (False). A
    check-in never made stays pending after its incident closed, so a year of a city has
    thousands of open whistles on closed cases; the dispatch console asks for the open cases'
    only (7 pages → 1 at 1,000,000 incidents, docs/performance.md 2026-12-05)."""
    message = "Whistles are for dispatchers, officers and departments."
    require_read(user, "whistle_list", message)  # the rule: policy.READ["whistle_list"]
    visible, params = incident_visibility(user, "i")
    conds: list[sql.Composable] = [visible]
    pending = sql.SQL(OPEN_SQL)
    if open_ is True:
        conds.append(pending)
    elif open_ is False:
        conds.append(sql.SQL("NOT ") + pending)
    if incident_open is not None:
        still = sql.SQL("i.status NOT IN ('closed', 'rejected')")
        conds.append(still if incident_open else sql.SQL("NOT ") + still)
    if cursor is not None:
        conds.append(sql.SQL("w.id > %(cursor)s"))
    query = sql.SQL(
        "SELECT w.id, {doc} AS doc FROM whistles w JOIN incidents i ON i.id = w.incident_id "
        "WHERE {where} ORDER BY w.id LIMIT %(limit)s"
    ).format(doc=sql.SQL(WHISTLE_JSON), where=sql.SQL(" AND ").join(conds))
    rows = conn.execute(
        query, {**params, "cursor": cursor, "limit": limit + 1, "full": True}
    ).fetchall()
    page, next_cursor = page_of(rows, limit)
    return {
        "whistles": [r["doc"] for r in page],
        "numberReturned": len(page),
        "next_cursor": next_cursor,
    }


END_SQL = """
WITH ended AS (
    UPDATE whistles SET ended_at = %(now)s, ended_by = %(actor)s, end_reason = %(reason)s
    WHERE incident_id = %(incident)s AND ended_at IS NULL
      AND (%(whistle)s::bigint IS NULL OR id = %(whistle)s)
    RETURNING id, deadline_at
), cancelled AS (
    UPDATE whistle_checkins k SET cancelled_at = %(now)s FROM ended e
    WHERE k.whistle_id = e.id AND k.checked_in_at IS NULL AND e.deadline_at > %(now)s
    RETURNING k.whistle_id, k.department_code
)
SELECT e.id, coalesce((SELECT array_agg(c.department_code ORDER BY c.department_code)
                       FROM cancelled c WHERE c.whistle_id = e.id), '{}') AS cancelled
FROM ended e ORDER BY e.id
"""


def end_whistles(
    conn: Connection[Any],
    incident_id: int,
    reason: str,
    actor: str,
    now: dt.datetime,
    whistle_id: int | None = None,
) -> dict[str, list[str]]:
    """End the incident's open whistles (or one); {whistle id: departments whose summons was
    cancelled}. Runs inside the caller's transaction, which holds the incident row."""
    assert reason in END_REASONS
    rows = conn.execute(
        END_SQL,
        {
            "now": now,
            "actor": actor,
            "reason": reason,
            "incident": incident_id,
            "whistle": whistle_id,
        },
    ).fetchall()
    return {str(r["id"]): list(r["cancelled"]) for r in rows}


def withdraw_whistle(
    conn: Connection[Any], user: User, whistle_id: int, note: str | None, now: dt.datetime
) -> None:
    """撤哨: a dispatcher who may whistle on the incident withdraws an open whistle."""
    with conn.transaction():
        row = conn.execute(
            "SELECT i.public_id, w.ended_at, w.end_reason FROM whistles w "
            "JOIN incidents i ON i.id = w.incident_id WHERE w.id = %s",
            (whistle_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"No whistle {whistle_id}.")
        inc, _ = _as_whistler(
            conn,
            user,
            row["public_id"],
            "withdraw_whistle",
            "Only a street or district dispatcher of this incident's area (or an admin) "
            "may withdraw its whistle.",
        )
        ended = end_whistles(conn, inc["id"], "withdrawn", user.name, now, whistle_id)
        if not ended:
            raise Conflict(
                f"Whistle {whistle_id} has already ended.",
                {"action": "withdraw_whistle", "end_reason": row["end_reason"]},
            )
        append_aside(
            conn,
            inc,
            "withdraw_whistle",
            at=now,
            actor=user.name,
            note=note,
            data={"whistle_id": whistle_id, "cancelled": ended[str(whistle_id)]},
        )
