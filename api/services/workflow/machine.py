"""The incident state machine: a table of (status, action) → next status, and who may act.

`TRANSITIONS` is the whole loop (DESIGN.md §1): reported → registered → dispatched → in_progress
→ handled → closed, with return, rework, rejection, self-handling, suspension, extension,
escalation and joint-handling acknowledgements. `WHO` says which capacity an action needs; a
user's capacities on one incident come from their role and scope (`load_situation`). Applying an
action lives in `api.services.workflow.actions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from api.errors import Forbidden, InvalidTransition, NotFound
from api.services.identity.access import ancestors, area_in_scope
from api.services.identity.auth import User
from web_map.i18n import N_

SAME = "="  # the action keeps the status
PREVIOUS = "<"  # reopen: back to the status held when suspended
VERIFY_FAILED = "in_progress"  # verify with passed=false: rework by the same department
# 吹哨 summons help to work on a case: not once it is handled, on hold or finished.
WHISTLE_STATES = frozenset({"reported", "registered", "dispatched", "in_progress"})

# What can happen while a department answers for the case (dispatched, in progress), after
# what only that status allows.
_ANSWERING = {
    "acknowledge": SAME,
    "request_extension": SAME,
    "approve_extension": SAME,
    "suspend": "suspended",
    "escalate": SAME,
    "add_info": SAME,
}
# Every legal (status, action) pair and the status it leads to. Anything else is a 409.
TRANSITIONS: dict[str, dict[str, str]] = {
    "reported": {
        "register": "registered",
        "reject": "rejected",
        "self_handle": "handled",
        "escalate": SAME,
        "add_info": SAME,
    },
    "registered": {
        "dispatch": "dispatched",
        "reject": "rejected",
        "self_handle": "handled",
        "suspend": "suspended",
        "escalate": SAME,
        "add_info": SAME,
    },
    "dispatched": {
        "dispatch": "dispatched",  # re-dispatch before the department accepts
        "accept": "in_progress",
        "return": "registered",
        "urge": SAME,
        "self_handle": "handled",
        **_ANSWERING,
    },
    "in_progress": {
        "handle": "handled",
        "return": "registered",
        "urge": SAME,
        **_ANSWERING,
    },
    "handled": {
        "verify": "closed",  # or VERIFY_FAILED when data.passed is false
        "acknowledge": SAME,
        "add_info": SAME,
    },
    "suspended": {"reopen": PREVIOUS, "add_info": SAME},
    "closed": {},
    "rejected": {},
}

# The capacity each action needs, listed per capacity. Admins hold every capacity.
_NEEDS = {
    # urge (督办/催办): the dispatcher's scope holds the responsible area
    "dispatcher": (
        "register",
        "reject",
        "dispatch",
        "escalate",
        "approve_extension",
        "suspend",
        "reopen",
        "urge",
    ),
    "department": ("accept", "return", "handle", "request_extension"),
    "supporter": ("acknowledge",),
    "officer": ("verify", "self_handle"),
    "reporter": ("add_info",),
}
WHO: dict[str, frozenset[str]] = {
    action: frozenset({capacity}) for capacity, actions in _NEEDS.items() for action in actions
}
ACTIONS = tuple(WHO)
CAPACITIES = frozenset(
    {"dispatcher", "whistler", "department", "supporter", "summoned", "officer", "reporter"}
)

# In words, for 403 messages (catalogue ids: api/error_messages.py translates the whole message).
CAPACITY_NAMES = {
    "dispatcher": N_("a dispatcher whose scope holds the incident's responsible area"),
    "whistler": N_("a street or district dispatcher of the incident's area"),
    "department": N_("the department the incident is assigned to"),
    "supporter": N_("a supporting department of the joint dispatch"),
    "summoned": N_("a department summoned by the whistle"),
    "officer": N_("the grid officer of the incident's grid"),
    "reporter": N_("the resident who reported it"),
}

INCIDENT_SQL = """
SELECT i.id, i.public_id, i.status, i.category_code, i.department_code, i.responsible_area_code,
       i.grid_code, i.reporter_user_id, i.due_at, i.closed_at, i.rework_count,
       i.escalation_level, i.suspended_from, i.due_left_s, i.extension_until,
       i.extension_requested_at, i.urge_count,
       i.assignment #>> '{department,code}' AS routed_department,
       c.time_limit, c.time_unit
FROM incidents i JOIN categories c ON c.code = i.category_code
WHERE i.public_id = %s
"""

# One round trip for the rest of the situation: where escalation would go, the joint-handling
# departments and the departments still owing a whistle check-in.
SITUATION_SQL = """
SELECT
  (SELECT jsonb_build_object('code', p.code, 'level', p.level, 'name', p.name)
     FROM areas a JOIN areas p ON p.code = a.parent_code AND p.valid_to IS NULL
     WHERE a.code = %(responsible)s AND a.valid_to IS NULL) AS escalate_to,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'code', s.department_code, 'acknowledged', s.acknowledged_at IS NOT NULL)
          ORDER BY s.department_code), '[]'::jsonb)
     FROM incident_supports s WHERE s.incident_id = %(id)s) AS supports,
  (SELECT coalesce(array_agg(DISTINCT k.department_code), '{}')
     FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id
     WHERE w.incident_id = %(id)s AND w.ended_at IS NULL
       AND k.checked_in_at IS NULL) AS summoned_pending
"""


@dataclass
class Situation:
    """An incident as one user sees it: its row, their capacities, and what the state allows."""

    incident: dict[str, Any]
    user: User | None
    caps: frozenset[str] = frozenset()
    escalate_to: dict[str, Any] | None = None
    supports: list[dict[str, Any]] = field(default_factory=list)
    summoned_pending: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The incident's current status."""
        return str(self.incident["status"])

    def pending_acknowledgements(self) -> list[str]:
        """Supporting departments that have not acknowledged, narrowed to the user's own."""
        pending = [s["code"] for s in self.supports if not s["acknowledged"]]
        if self.user is not None and self.user.role == "department":
            return [c for c in pending if c == self.user.department_code]
        return pending


def load_incident(conn: Connection[Any], public_id: str, *, lock: bool = False) -> dict[str, Any]:
    """The incident's workflow row; `lock=True` holds it (FOR UPDATE) until the transaction ends."""
    query = INCIDENT_SQL + (" FOR UPDATE OF i" if lock else "")
    row = conn.execute(query, (public_id,)).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    return dict(row)


def load_situation(conn: Connection[Any], user: User | None, inc: dict[str, Any]) -> Situation:
    """What `user` may do on `inc`: capacities from role and scope, plus the incident's context."""
    row = conn.execute(
        SITUATION_SQL, {"responsible": inc["responsible_area_code"], "id": inc["id"]}
    ).fetchone()
    assert row is not None
    s = Situation(
        incident=inc,
        user=user,
        escalate_to=row["escalate_to"],
        supports=list(row["supports"]),
        summoned_pending=list(row["summoned_pending"]),
    )
    s.caps = _capacities(conn, user, s) if user is not None else frozenset()
    return s


def _capacities(conn: Connection[Any], user: User, s: Situation) -> frozenset[str]:
    if user.role == "admin":
        return CAPACITIES
    inc = s.incident
    caps: set[str] = set()
    if inc["reporter_user_id"] is not None and inc["reporter_user_id"] == user.id:
        caps.add("reporter")
    if user.role == "dispatcher" and area_in_scope(conn, user, inc["responsible_area_code"]):
        caps.add("dispatcher")
        own = ancestors(conn, user.area_code) if user.area_code else []
        if own and own[0]["level"] in ("street", "district"):
            caps.add("whistler")
    if user.role == "officer" and area_in_scope(
        conn, user, inc["grid_code"] or inc["responsible_area_code"]
    ):
        caps.add("officer")
    if user.role == "department" and user.department_code:
        dept = user.department_code
        if dept == inc["department_code"]:
            caps.add("department")
        if any(sup["code"] == dept for sup in s.supports):
            caps.add("supporter")
        if dept in s.summoned_pending:
            caps.add("summoned")
    return frozenset(caps)


def blocked(action: str, s: Situation) -> str | None:
    """Why a transition the table allows cannot happen right now (None: it can)."""
    inc = s.incident
    if action == "approve_extension" and inc["extension_until"] is None:
        return "no extension request is pending"
    if action == "request_extension" and inc["extension_until"] is not None:
        return "an extension request is already waiting for approval"
    if action == "escalate" and s.escalate_to is None:
        return "responsibility already lies with the top of the area hierarchy"
    if action == "acknowledge" and not s.pending_acknowledgements():
        return "no acknowledgement is pending"
    return None


def allowed_in_state(s: Situation) -> list[str]:
    """Actions the incident's status (and pending requests) allow, for anyone."""
    return [a for a in TRANSITIONS[s.status] if blocked(a, s) is None]


def allowed_actions(s: Situation) -> list[str]:
    """Exactly the actions this user may take now, including `whistle`, `check_in` and
    `withdraw_whistle`."""
    actions = [a for a in allowed_in_state(s) if WHO[a] & s.caps]
    if "whistler" in s.caps and s.status in WHISTLE_STATES:
        actions.append("whistle")
    if "summoned" in s.caps and s.summoned_pending:
        actions.append("check_in")
    if "whistler" in s.caps and s.summoned_pending:  # an open whistle (not ended, someone owing)
        actions.append("withdraw_whistle")
    return actions


def require(action: str, s: Situation) -> None:
    """Refuse an action: 403 when the user lacks the capacity, 409 when the state forbids it."""
    if not (WHO[action] & s.caps):
        needed = sorted(WHO[action])
        raise Forbidden(
            f"Action '{action}' on incident {s.incident['public_id']} is for "
            + " or ".join(CAPACITY_NAMES[c] for c in needed)
            + " (or an admin); you are not.",
            {"action": action, "needed": needed},
        )
    allowed = allowed_in_state(s)
    if action not in allowed:
        why = blocked(action, s) if action in TRANSITIONS[s.status] else None
        reason = why or f"not allowed while it is {s.status}"
        raise InvalidTransition(
            f"Action '{action}' is not possible on incident {s.incident['public_id']}: {reason}.",
            {
                "action": action,
                "status": s.status,
                "allowed": allowed,
                "allowed_for_you": [a for a in allowed if WHO[a] & s.caps],
            },
        )


def next_status(action: str, s: Situation, *, passed: bool | None = None) -> str:
    """The status after `action` (verify depends on whether it passed)."""
    target = TRANSITIONS[s.status][action]
    if action == "verify" and passed is False:
        return VERIFY_FAILED
    if target == SAME:
        return s.status
    if target == PREVIOUS:
        return str(s.incident["suspended_from"])
    return target
