"""Who may add a photo at which stage, hiding a photo (an event), and photos named by actions.

Stages follow the loop (DESIGN.md §1): the reporter's `report` photos while the report waits to
be registered and `info` photos while the case is open; the lead department's `before` photos
once dispatched and `after` photos while working or handled; the grid officer's `verify` photos
when checking a handled case (or on the spot, before self-handling it). Capacities are the
workflow's (api/services/workflow); admins hold them all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

from api.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
    invalid_value,
)
from api.services.identity.auth import User
from api.services.workflow.events import append_aside
from api.services.workflow.machine import CAPACITY_NAMES, load_incident, load_situation

OPEN = frozenset({"reported", "registered", "dispatched", "in_progress", "handled", "suspended"})
# stage → (capacities that may add it, statuses it may be added in)
STAGE_RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "report": (frozenset({"reporter"}), frozenset({"reported"})),
    "info": (frozenset({"reporter"}), OPEN),
    "before": (frozenset({"department"}), frozenset({"dispatched", "in_progress"})),
    "after": (frozenset({"department"}), frozenset({"in_progress", "handled"})),
    "verify": (
        frozenset({"officer"}),
        frozenset({"handled", "reported", "registered", "dispatched"}),
    ),
}
# Which stages a workflow action may name in data.photo_ids.
ACTION_STAGES: dict[str, frozenset[str]] = {
    "handle": frozenset({"before", "after"}),
    "verify": frozenset({"verify"}),
    "self_handle": frozenset({"verify"}),
    "add_info": frozenset({"info"}),
}
HIDERS = frozenset({"dispatcher", "officer"})
MAX_PHOTO_IDS = 50
MAX_REASON = 500


def require_stage(
    conn: Connection[Any], user: User, public_id: str, stage: str, *, lock: bool
) -> dict[str, Any]:
    """Refuse (403/409) a photo `user` may not add at `stage`; `lock` holds the incident."""
    inc = load_incident(conn, public_id, lock=lock)
    s = load_situation(conn, user, inc)
    who, when = STAGE_RULES[stage]
    if not (who & s.caps):
        raise Forbidden(
            f"'{stage}' photos on incident {public_id} are for "
            + " or ".join(CAPACITY_NAMES[c] for c in sorted(who))
            + " (or an admin); you are not.",
            {"stage": stage, "needed": sorted(who)},
        )
    if s.status not in when:
        raise InvalidTransition(
            f"'{stage}' photos cannot be added to incident {public_id} while it is {s.status}.",
            {"stage": stage, "status": s.status, "allowed_in": sorted(when)},
        )
    return inc


def named_photos(conn: Connection[Any], incident_id: int, action: str, value: Any) -> list[int]:
    """Check `data.photo_ids` of an action: this incident's visible photos of fitting stages."""
    stages = ACTION_STAGES[action]
    ok = isinstance(value, list) and len(value) <= MAX_PHOTO_IDS
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok or len(set(value)) != len(value):
        raise invalid_value(
            "data.photo_ids", f"a list of at most {MAX_PHOTO_IDS} distinct photo ids"
        )
    rows = conn.execute(
        "SELECT id, stage FROM incident_photos "
        "WHERE incident_id = %s AND id = ANY(%s) AND hidden_at IS NULL",
        (incident_id, value),
    ).fetchall()
    found = {r["id"]: r["stage"] for r in rows}
    for photo_id in value:
        if photo_id not in found:
            raise invalid_value("data.photo_ids", f"no photo {photo_id} on this incident")
        if found[photo_id] not in stages:
            raise invalid_value(
                "data.photo_ids",
                f"photo {photo_id} is a '{found[photo_id]}' photo; {action} takes "
                + " or ".join(sorted(stages)),
            )
    return list(value)


# An `after` photo taken in the current round of work: since the case last became in_progress
# (accept, or a failed verification sending it back). Reads the incident's own events only.
AFTER_PHOTO_SQL = """
SELECT EXISTS (
    SELECT 1 FROM incident_photos p
    WHERE p.incident_id = %(id)s AND p.stage = 'after' AND p.hidden_at IS NULL
      AND p.uploaded_at >= coalesce(
          (SELECT max(e.at) FROM incident_events e
           WHERE e.incident_id = %(id)s AND e.to_status = 'in_progress'
             AND e.from_status IS DISTINCT FROM 'in_progress'), '-infinity')
) AS has_after,
(SELECT c.require_photos OR coalesce(p.require_photos, false)
   FROM categories c LEFT JOIN categories p ON p.code = c.parent_code
   WHERE c.code = %(category)s) AS required
"""


def require_after_photo(conn: Connection[Any], inc: dict[str, Any]) -> None:
    """422 when the category requires photos and no `after` photo of this round exists."""
    row = conn.execute(
        AFTER_PHOTO_SQL, {"id": inc["id"], "category": inc["category_code"]}
    ).fetchone()
    if row is not None and row["required"] and not row["has_after"]:
        raise ValidationFailed(
            "This category needs an 'after' photo before it can be handled: upload one "
            f"(POST /api/v1/incidents/{inc['public_id']}/photos, stage=after) first.",
            {"problems": [{"field": "data.photo_ids", "problem": "an 'after' photo is required"}]},
        )


PHOTO_ROW_SQL = """
SELECT p.id, p.stage, p.hidden_at, i.public_id
FROM incident_photos p JOIN incidents i ON i.id = p.incident_id
WHERE p.id = %s
"""


def hide_photo(
    conn: Connection[Any], user: User, photo_id: int, reason: str, now: dt.datetime
) -> str:
    """Hide a photo from the public (an event `hide_photo` with the reason); the incident id."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise invalid_value("reason", f"a written reason of 1 to {MAX_REASON} characters")
    row = conn.execute(PHOTO_ROW_SQL, (photo_id,)).fetchone()
    if row is None:
        raise NotFound(f"No photo {photo_id}.")
    inc = load_incident(conn, row["public_id"], lock=True)
    s = load_situation(conn, user, inc)
    if not (HIDERS & s.caps):
        if "reporter" in s.caps or "department" in s.caps or "supporter" in s.caps:
            raise Forbidden(
                "Hiding a photo is for a dispatcher or the grid officer of the incident.",
                {"needed": sorted(HIDERS)},
            )
        raise NotFound(f"No photo {photo_id}.")
    if row["hidden_at"] is not None:
        raise Conflict(f"Photo {photo_id} is already hidden.", {"photo": photo_id})
    conn.execute(
        "UPDATE incident_photos SET hidden_at = %s, hidden_by = %s, hidden_reason = %s "
        "WHERE id = %s",
        (now, user.name, reason, photo_id),
    )
    append_aside(
        conn,
        inc,
        "hide_photo",
        at=now,
        actor=user.name,
        note=reason,
        data={"photo_id": photo_id, "stage": row["stage"]},
    )
    return str(inc["public_id"])
