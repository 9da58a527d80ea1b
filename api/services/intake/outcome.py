"""The reporter's view of a report: the public outcome, "my reports", and the contact lookup.

What a reporter may read: the status in words, the handling note, a rejection's reason and the
original of a duplicate, the deadline, when it was closed or rejected, the public steps and the
rating. Never: names, departments' internal notes, whistles, check-ins, urges, returns.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import Connection

from api.errors import NotFound
from api.services.identity.auth import User
from api.services.paging import page_of
from api.services.photos.incident_photos import incident_photos_by_public_id
from web_map.i18n import CHINESE, N_, Translator

# Steps a reporter sees; the rest (return, escalate, whistle, check_in, urge, acknowledge,
# extensions, add_info, reassign) are the administration's own business.
PUBLIC_STEPS = [
    "report",
    "register",
    "dispatch",
    "accept",
    "handle",
    "self_handle",
    "verify",
    "reject",
    "suspend",
    "reopen",
    "rate",
    "review",
]
# Steps whose note is written for the reporter (as in api.open311.requests).
PUBLIC_NOTES = ["reject", "handle", "self_handle", "verify", "suspend", "reopen"]
MAX_STEPS = 200

# The words, in one place for the gettext catalogue (issue 17): told in the caller's language
# (the status page has the same texts for the same codes: web_map/static/report_status.js)
STATUS_TEXT = {
    "reported": N_("Received, waiting to be accepted"),
    "registered": N_("Accepted, waiting to be dispatched"),
    "dispatched": N_("Sent to the responsible department"),
    "in_progress": N_("Being handled by the department"),
    "handled": N_("Handled, waiting for verification"),
    "closed": N_("Closed"),
    "rejected": N_("Not accepted"),
    "suspended": N_("On hold"),
}
STEP_TEXT = {
    "report": N_("Reported"),
    "register": N_("Accepted for handling"),
    "dispatch": N_("Dispatched"),
    "accept": N_("Taken on by the department"),
    "handle": N_("Handled"),
    "self_handle": N_("Handled on the spot by the grid officer"),
    "verify": N_("Verified"),
    "reject": N_("Not accepted"),
    "suspend": N_("Put on hold"),
    "reopen": N_("Resumed"),
    "rate": N_("Rated"),
    "review": N_("Reviewed again after an unsatisfied rating"),
}
REJECT_TEXT = {
    "invalid": N_("Checked: not a problem that can be accepted"),
    "duplicate": N_("A duplicate of a report already accepted; follow the original instead"),
}
RATING_TEXT = {
    "satisfied": N_("Satisfied"),
    "basically_satisfied": N_("Basically satisfied"),
    "unsatisfied": N_("Unsatisfied"),
}


OUTCOME_SQL = """
SELECT i.id, i.public_id, i.status, i.category_code, c.name AS category_name, i.description,
       i.reported_at, i.due_at, i.closed_at, i.updated_at, i.reporter, i.reporter_user_id,
       ST_AsGeoJSON(i.geom, 7)::jsonb AS location,
       r.rating, r.comment AS rating_comment, r.rated_at, r.channel AS rating_channel,
       (SELECT coalesce(jsonb_agg(s ORDER BY s.id), '[]'::jsonb) FROM (
            SELECT e.id, e.action, e.at, e.to_status,
                   CASE WHEN e.action = ANY(%(notes)s) THEN e.note END AS note,
                   e.data ->> 'reason' AS reason, e.data ->> 'duplicate_of' AS duplicate_of,
                   (e.data ->> 'passed')::boolean AS passed
            FROM incident_events e
            WHERE e.incident_id = i.id AND e.action = ANY(%(steps)s)
            ORDER BY e.id LIMIT %(max_steps)s) s) AS steps
FROM incidents i
JOIN categories c ON c.code = i.category_code
LEFT JOIN incident_ratings r ON r.incident_id = i.id
WHERE i.public_id = %(id)s
"""

MINE_SQL = """
SELECT i.id, i.public_id, i.status, c.name AS category_name, i.reported_at, i.updated_at,
       i.closed_at, r.rating
FROM incidents i
JOIN categories c ON c.code = i.category_code
LEFT JOIN incident_ratings r ON r.incident_id = i.id
WHERE i.reporter_user_id = %(user)s AND (%(cursor)s::bigint IS NULL OR i.id < %(cursor)s)
ORDER BY i.id DESC
LIMIT %(limit)s
"""


def load_outcome_row(conn: Connection[Any], public_id: str) -> dict[str, Any]:
    """The incident row behind the reporter's view (with contact data: not for output)."""
    row = conn.execute(
        OUTCOME_SQL,
        {"id": public_id, "steps": PUBLIC_STEPS, "notes": PUBLIC_NOTES, "max_steps": MAX_STEPS},
    ).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    return dict(row)


def outcome_document(row: dict[str, Any], tr: Translator = CHINESE) -> dict[str, Any]:
    """The public outcome of one report, from `load_outcome_row`; its words in `tr`'s
    language."""
    status = row["status"]
    steps = row["steps"]
    handled = [s for s in steps if s["action"] in ("handle", "self_handle") and s["note"]]
    rejection = next((s for s in reversed(steps) if s["action"] == "reject"), None)
    doc: dict[str, Any] = {
        "id": row["public_id"],
        "status": status,
        "status_text": tr.word(STATUS_TEXT, status),
        "category": {"code": row["category_code"], "name": row["category_name"]},
        "description": row["description"],
        "location": row["location"],
        "reported_at": row["reported_at"],
        "updated_at": row["updated_at"],
        # The deadline matters while someone is working on it.
        "due_at": row["due_at"] if status in ("dispatched", "in_progress") else None,
        "closed_at": row["closed_at"] if status == "closed" else None,
        "rejected_at": rejection["at"] if status == "rejected" and rejection else None,
        "handling_note": handled[-1]["note"] if handled else None,
        "rejection": None,
        "steps": [
            {
                "action": s["action"],
                "action_text": tr.word(STEP_TEXT, s["action"]),
                "at": s["at"],
                "status": s["to_status"],
                "status_text": tr.word(STATUS_TEXT, s["to_status"]),
                "note": s["note"],
            }
            for s in steps
        ],
        "rating": None,
        "can_rate": status == "closed" and row["rating"] is None,
    }
    if status == "rejected" and rejection:
        original = rejection["duplicate_of"]
        doc["rejection"] = {
            "reason": rejection["reason"],
            "reason_text": tr(REJECT_TEXT.get(rejection["reason"] or "", STATUS_TEXT["rejected"])),
            "note": rejection["note"],
            "duplicate_of": original,
            "duplicate_url": f"/report/{original}" if original else None,
        }
    if row["rating"] is not None:
        doc["rating"] = {
            "rating": row["rating"],
            "rating_text": tr.word(RATING_TEXT, row["rating"]),
            "rated_at": row["rated_at"],
            "channel": row["rating_channel"],
        }
    return doc


def public_outcome(
    conn: Connection[Any], public_id: str, tr: Translator = CHINESE
) -> dict[str, Any]:
    """GET /api/v1/reports/{id}: what anyone holding the tracking id may read."""
    doc = outcome_document(load_outcome_row(conn, public_id), tr)
    # the public photos (report and after, unless staff hid one), as links, never embedded
    doc["photos"] = incident_photos_by_public_id(conn, public_id, None, full=False)
    return doc


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    # A mainland mobile number with the country code still matches the one given without it.
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def contact_matches(reporter: dict[str, Any], contact: str) -> bool:
    """Whether `contact` is the phone number or e-mail the reporter gave."""
    contact = contact.strip()
    email = str(reporter.get("email") or "").strip()
    if "@" in contact:
        return bool(email) and email.lower() == contact.lower()
    phone = _digits(str(reporter.get("phone") or ""))
    return len(phone) >= 5 and phone == _digits(contact)


def is_reporter(row: dict[str, Any], user: User | None, contact: str | None) -> bool:
    """The caller is the reporter: signed in as them, or knows the contact they gave."""
    if user is not None and row["reporter_user_id"] == user.id:
        return True
    return contact is not None and contact_matches(row["reporter"] or {}, contact)


def lookup_report(
    conn: Connection[Any],
    public_id: str,
    contact: str,
    user: User | None,
    tr: Translator = CHINESE,
) -> dict[str, Any]:
    """POST /api/v1/reports/lookup: the outcome for whoever gives the tracking id + contact."""
    try:
        row = load_outcome_row(conn, public_id)
    except NotFound:
        row = None
    # One answer for "no such report" and "wrong contact": the id cannot be probed for contacts.
    if row is None or not is_reporter(row, user, contact):
        raise NotFound("No report with this tracking id and this phone number or e-mail.")
    return {**outcome_document(row, tr), "reporter_verified": True}


def my_reports(
    conn: Connection[Any], user: User, limit: int, cursor: int | None, tr: Translator = CHINESE
) -> dict[str, Any]:
    """GET /api/v1/reports/mine: the signed-in user's own reports, newest first (the status in
    `tr`'s words)."""
    rows = conn.execute(
        MINE_SQL, {"user": user.id, "cursor": cursor, "limit": limit + 1}
    ).fetchall()
    page, next_cursor = page_of(rows, limit)
    return {
        "reports": [
            {
                "id": r["public_id"],
                "status": r["status"],
                "status_text": tr.word(STATUS_TEXT, r["status"]),
                "category_name": r["category_name"],
                "reported_at": r["reported_at"],
                "updated_at": r["updated_at"],
                "closed_at": r["closed_at"] if r["status"] == "closed" else None,
                "rating": r["rating"],
                "url": f"/report/{r['public_id']}",
            }
            for r in page
        ],
        "numberReturned": len(page),
        "next_cursor": next_cursor,
    }
