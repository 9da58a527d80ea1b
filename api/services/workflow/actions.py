"""Applying a workflow action: lock the incident, check the table, change it, log it, notify.

Each handler validates its input and returns a `Change`; `apply_action` writes the change, the
append-only event and the notification in one transaction, holding the incident row
(SELECT … FOR UPDATE) so two concurrent actions cannot both apply to the same status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, sql

from api.errors import invalid_value
from api.schemas.workflow import ActionIn
from api.services.identity.auth import User
from api.services.intake.report import calendar_from
from api.services.photos.rules import named_photos, require_after_photo
from api.services.reference import unknown_codes
from api.services.workflow.deadlines import due_at
from api.services.workflow.events import append_event
from api.services.workflow.machine import Situation as S
from api.services.workflow.machine import load_incident, load_situation, next_status, require
from api.services.workflow.whistles import end_whistles
from api.settings import Settings

MAX_PHOTOS = 20
REJECT_REASONS = ("invalid", "duplicate")
URGE_LEVELS = ("催办", "督办")  # a reminder, and formal supervision by a higher office
# Columns an action may set besides status/updated_at (identifiers are quoted by psycopg.sql).
SETTABLE = frozenset(
    {
        "department_code",
        "due_at",
        "closed_at",
        "rework_count",
        "escalation_level",
        "responsible_area_code",
        "suspended_from",
        "due_left_s",
        "extension_until",
        "extension_requested_at",
        "urge_count",
    }
)
ENDS_WHISTLES = ("closed", "rejected")  # a case leaving the loop ends its whistles
NO_EXTENSION = {"extension_until": None, "extension_requested_at": None}


@dataclass
class Change:
    """What an action does: new status, columns to set, and the event's department and data."""

    to_status: str
    set: dict[str, Any] = field(default_factory=dict)
    department: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Request:
    """An action as the handlers see it."""

    body: ActionIn
    user: User
    now: dt.datetime
    settings: Settings


def _only(req: Request, *keys: str) -> dict[str, Any]:
    """The action's data, refusing keys it does not use (a typo must not pass silently)."""
    unknown = sorted(set(req.body.data) - set(keys))
    if unknown:
        used = ", ".join(keys) or "none"
        raise invalid_value(f"data.{unknown[0]}", f"not used by {req.body.action} (keys: {used})")
    if req.body.department is not None and req.body.action not in ("dispatch", "acknowledge"):
        raise invalid_value("department", f"not used by {req.body.action}")
    return req.body.data


def _note(req: Request, what: str) -> str:
    note = (req.body.note or "").strip()
    if not note:
        raise invalid_value("note", f"{req.body.action} needs a written {what}")
    return note


def _photos(data: dict[str, Any]) -> dict[str, Any]:
    photos = data.get("photos")
    if photos is None:
        return {}
    ok = isinstance(photos, list) and len(photos) <= MAX_PHOTOS
    for url in photos if ok else []:
        ok = ok and isinstance(url, str) and len(url) <= 2000
        ok = ok and url.lower().startswith(("http://", "https://"))
    if not ok:
        raise invalid_value("data.photos", f"a list of at most {MAX_PHOTOS} http(s) URLs")
    return {"photos": photos}


def _evidence(conn: Connection[Any], s: S, req: Request, data: dict[str, Any]) -> dict[str, Any]:
    """The event's photos: typed URLs (`photos`) and stored photos (`photo_ids`, issue 16)."""
    out = _photos(data)
    if "photo_ids" in data:
        out["photo_ids"] = named_photos(conn, s.incident["id"], req.body.action, data["photo_ids"])
    return out


def _instant(value: Any, field_name: str, after: dt.datetime) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise invalid_value(field_name, "an ISO 8601 date-time with a UTC offset")
    if when <= after:
        raise invalid_value(field_name, f"must be later than {after.isoformat()}")
    return when


def _codes(conn: Connection[Any], codes: list[str], field_name: str) -> None:
    missing = unknown_codes(conn, "departments", codes)
    if missing:
        raise invalid_value(field_name, f"unknown department {', '.join(missing)}")


def register(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    return Change(next_status("register", s), department=s.incident["department_code"])


def reject(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "reason", "duplicate_of")
    reason = data.get("reason")
    if reason not in REJECT_REASONS:
        raise invalid_value("data.reason", "one of " + ", ".join(REJECT_REASONS))
    out: dict[str, Any] = {"reason": reason}
    if reason == "duplicate":
        original = data.get("duplicate_of")
        if not isinstance(original, str) or original == s.incident["public_id"]:
            raise invalid_value(
                "data.duplicate_of", "the id of the other incident this one repeats"
            )
        if not conn.execute("SELECT 1 FROM incidents WHERE public_id = %s", (original,)).fetchone():
            raise invalid_value("data.duplicate_of", f"no incident '{original}'")
        out["duplicate_of"] = original
    elif "duplicate_of" in data:
        raise invalid_value("data.duplicate_of", "only with reason 'duplicate'")
    return Change(next_status("reject", s), {"closed_at": req.now}, data=out)


def dispatch(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "supporting")
    inc = s.incident
    lead = req.body.department or inc["routed_department"] or inc["department_code"]
    if not lead:
        raise invalid_value("department", "no department was routed; name one")
    supporting = data.get("supporting", [])
    if not isinstance(supporting, list) or not all(isinstance(c, str) for c in supporting):
        raise invalid_value("data.supporting", "a list of department codes")
    if len(set(supporting)) != len(supporting) or lead in supporting or len(supporting) > 20:
        raise invalid_value(
            "data.supporting", "at most 20 distinct departments other than the lead"
        )
    _codes(conn, [lead, *supporting], "department" if not supporting else "data.supporting")
    deadline = due_at(
        req.now, inc["time_limit"], inc["time_unit"], calendar_from(req.settings.calendar)
    )
    # A (re-)dispatch replaces the joint-handling team; the event log keeps the earlier ones.
    conn.execute("DELETE FROM incident_supports WHERE incident_id = %s", (inc["id"],))
    for code in supporting:
        conn.execute(
            "INSERT INTO incident_supports (incident_id, department_code, assigned_at) "
            "VALUES (%s, %s, %s)",
            (inc["id"], code, req.now),
        )
    limit = (
        {"value": float(inc["time_limit"]), "unit": inc["time_unit"]}
        if inc["time_limit"] is not None
        else None
    )
    return Change(
        next_status("dispatch", s),
        {"department_code": lead, "due_at": deadline, **NO_EXTENSION},
        department=lead,
        data={"lead": lead, "supporting": supporting, "due_at": deadline, "time_limit": limit},
    )


def accept(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    return Change(next_status("accept", s), department=s.incident["department_code"])


def return_(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    _note(req, "reason")
    conn.execute("DELETE FROM incident_supports WHERE incident_id = %s", (s.incident["id"],))
    return Change(
        next_status("return", s),
        {"department_code": None, "due_at": None, **NO_EXTENSION},
        department=s.incident["department_code"],
    )


def handle(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "photos", "photo_ids")
    _note(req, "account of what was done")
    evidence = _evidence(conn, s, req, data)
    require_after_photo(conn, s.incident)  # the category's require_photos
    return Change(
        next_status("handle", s),
        dict(NO_EXTENSION),
        department=s.incident["department_code"],
        data=evidence,
    )


def verify(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "passed", "photo_ids")
    passed = data.get("passed")
    if not isinstance(passed, bool):
        raise invalid_value("data.passed", "true (closes the case) or false (rework)")
    inc = s.incident
    if passed:
        change = {"closed_at": req.now}
        count = inc["rework_count"]
    else:
        count = inc["rework_count"] + 1
        change = {"rework_count": count}
    return Change(
        next_status("verify", s, passed=passed),
        change,
        department=inc["department_code"],
        data={"passed": passed, "rework_count": count, **_evidence(conn, s, req, data)},
    )


def self_handle(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "photos", "photo_ids")
    _note(req, "account of what was done")
    # Fixed on the spot: no department holds the case any more.
    conn.execute("DELETE FROM incident_supports WHERE incident_id = %s", (s.incident["id"],))
    return Change(
        next_status("self_handle", s),
        {"department_code": None, "due_at": None, **NO_EXTENSION},
        data=_evidence(conn, s, req, data),
    )


def request_extension(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "until")
    _note(req, "reason")
    inc = s.incident
    until = _instant(data.get("until"), "data.until", max(req.now, inc["due_at"] or req.now))
    return Change(
        next_status("request_extension", s),
        {"extension_until": until, "extension_requested_at": req.now},
        department=inc["department_code"],
        data={"until": until, "due_at": inc["due_at"]},
    )


def approve_extension(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "approved", "until")
    approved = data.get("approved", True)
    if not isinstance(approved, bool):
        raise invalid_value("data.approved", "true (move the deadline) or false (refuse)")
    inc = s.incident
    until = inc["extension_until"]
    if "until" in data:
        until = _instant(data["until"], "data.until", max(req.now, inc["due_at"] or req.now))
    change: dict[str, Any] = dict(NO_EXTENSION)
    if approved:
        change["due_at"] = until
    return Change(
        next_status("approve_extension", s),
        change,
        department=inc["department_code"],
        data={
            "approved": approved,
            "previous_due_at": inc["due_at"],
            "due_at": until if approved else inc["due_at"],
        },
    )


def suspend(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    _note(req, "reason")
    inc = s.incident
    # 挂账 pauses the clock: the time left is kept and given back on reopen.
    left = (inc["due_at"] - req.now).total_seconds() if inc["due_at"] else None
    return Change(
        next_status("suspend", s),
        {"suspended_from": inc["status"], "due_left_s": left, "due_at": None},
        department=inc["department_code"],
        data={"due_left_s": left},
    )


def reopen(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    left = s.incident["due_left_s"]
    due = req.now + dt.timedelta(seconds=left) if left is not None else None
    return Change(
        next_status("reopen", s),
        {"suspended_from": None, "due_left_s": None, "due_at": due},
        department=s.incident["department_code"],
        data={"due_at": due},
    )


def escalate(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    _note(req, "reason")
    inc, target = s.incident, s.escalate_to
    assert target is not None  # `require` refused it otherwise
    level = inc["escalation_level"] + 1
    return Change(
        next_status("escalate", s),
        {"responsible_area_code": target["code"], "escalation_level": level},
        department=inc["department_code"],
        data={
            "from_area": inc["responsible_area_code"],
            "to_area": target["code"],
            "to_level": target["level"],
            "escalation_level": level,
        },
    )


def acknowledge(conn: Connection[Any], s: S, req: Request) -> Change:
    _only(req)
    pending = s.pending_acknowledgements()
    dept = req.user.department_code if req.user.role == "department" else req.body.department
    if dept not in pending:
        raise invalid_value(
            "department", "one of the departments yet to acknowledge: " + ", ".join(pending)
        )
    conn.execute(
        "UPDATE incident_supports SET acknowledged_at = %s, acknowledged_by = %s "
        "WHERE incident_id = %s AND department_code = %s",
        (req.now, req.user.name, s.incident["id"], dept),
    )
    return Change(next_status("acknowledge", s), department=dept)


def add_info(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "photos", "photo_ids")
    _note(req, "piece of information")
    return Change(next_status("add_info", s), data=_evidence(conn, s, req, data))


def urge(conn: Connection[Any], s: S, req: Request) -> Change:
    data = _only(req, "level")
    _note(req, "reason")
    level = data.get("level", URGE_LEVELS[0])
    if level not in URGE_LEVELS:
        raise invalid_value("data.level", "one of " + ", ".join(URGE_LEVELS))
    count = s.incident["urge_count"] + 1
    return Change(
        next_status("urge", s),
        {"urge_count": count},
        department=s.incident["department_code"],
        data={"level": level, "urge_count": count},
    )


HANDLERS: dict[str, Callable[[Connection[Any], S, Request], Change]] = {
    "register": register,
    "reject": reject,
    "dispatch": dispatch,
    "accept": accept,
    "return": return_,
    "handle": handle,
    "verify": verify,
    "self_handle": self_handle,
    "request_extension": request_extension,
    "approve_extension": approve_extension,
    "suspend": suspend,
    "reopen": reopen,
    "escalate": escalate,
    "acknowledge": acknowledge,
    "add_info": add_info,
    "urge": urge,
}


def apply_action(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    public_id: str,
    body: ActionIn,
    now: dt.datetime,
) -> int:
    """Apply one action atomically; returns the new event's id. Refusals write nothing."""
    with conn.transaction():
        inc = load_incident(conn, public_id, lock=True)
        s = load_situation(conn, user, inc)
        require(body.action, s)
        change = HANDLERS[body.action](conn, s, Request(body, user, now, settings))
        assert set(change.set) <= SETTABLE
        assignments = [
            sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col))
            for col in sorted(change.set)
        ]
        conn.execute(
            sql.SQL(
                "UPDATE incidents SET status = %(status)s, updated_at = %(now)s{} WHERE id = %(id)s"
            ).format(sql.SQL("").join(sql.SQL(", ") + a for a in assignments)),
            {**change.set, "status": change.to_status, "now": now, "id": inc["id"]},
        )
        if change.to_status in ENDS_WHISTLES and change.to_status != inc["status"]:
            ended = end_whistles(conn, inc["id"], change.to_status, user.name, now)
            if ended:  # {whistle id: departments whose pending summons was cancelled}
                change.data["whistles_ended"] = ended
        return append_event(
            conn,
            incident_id=inc["id"],
            public_id=public_id,
            at=now,
            actor=user.name,
            action=body.action,
            from_status=inc["status"],
            to_status=change.to_status,
            department=change.department,
            note=body.note or None,
            data=change.data,
        )
