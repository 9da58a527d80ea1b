"""回访: the reporter rates a closed case once (满意 / 基本满意 / 不满意), or a dispatcher records
a phone follow-up; 不满意 may send the case back for review (GRIDGOV_REOPEN_UNSATISFIED)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

from api.db.models_followup import RATINGS
from api.errors import Conflict, Forbidden, InvalidTransition, invalid_value
from api.services.identity.auth import User
from api.services.intake.outcome import is_reporter, load_outcome_row, outcome_document
from api.services.workflow.events import append_event
from api.services.workflow.machine import load_incident, load_situation
from api.settings import Settings
from web_map.i18n import CHINESE, Translator

MAX_COMMENT = 2000


def rate_incident(
    conn: Connection[Any],
    settings: Settings,
    user: User | None,
    public_id: str,
    *,
    rating: str,
    comment: str | None,
    contact: str | None,
    now: dt.datetime,
    tr: Translator = CHINESE,
) -> dict[str, Any]:
    """Record the one rating of a closed case; returns the reporter's view afterwards (its
    words in `tr`'s language)."""
    if rating not in RATINGS:
        raise invalid_value("rating", "one of " + ", ".join(RATINGS))
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise invalid_value("comment", f"at most {MAX_COMMENT} characters")
    with conn.transaction():
        inc = load_incident(conn, public_id, lock=True)
        row = load_outcome_row(conn, public_id)
        phone = user is not None and "dispatcher" in load_situation(conn, user, inc).caps
        if not phone and not is_reporter(row, user, contact):
            raise Forbidden(
                "Only the reporter (signed in, or with the phone number or e-mail they gave) "
                "rates a report; a dispatcher of its area records a phone follow-up.",
                {"action": "rate"},
            )
        if inc["status"] != "closed":
            raise InvalidTransition(
                f"Report {public_id} can be rated once it is closed; it is {inc['status']}.",
                {"action": "rate", "status": inc["status"]},
            )
        if row["rating"] is not None:
            raise Conflict(
                f"Report {public_id} was already rated on {row['rated_at'].isoformat()}.",
                {"rated_at": row["rated_at"]},
            )
        # The reporter's own word counts as theirs, even when they are also a dispatcher.
        recorder = None if is_reporter(row, user, contact) or user is None else user.name
        channel = "reporter" if recorder is None else "phone"
        conn.execute(
            "INSERT INTO incident_ratings (incident_id, rating, comment, channel, recorded_by, "
            "rated_at, department_code) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (inc["id"], rating, comment, channel, recorder, now, inc["department_code"]),
        )
        actor = user.name if user is not None else "reporter"
        data = {"rating": rating, "channel": channel}

        def event(action: str, to_status: str) -> None:
            """The rating's event, and the review's when it sends the case back (same data)."""
            append_event(
                conn,
                incident_id=inc["id"],
                public_id=public_id,
                at=now,
                actor=actor,
                action=action,
                from_status="closed",
                to_status=to_status,
                department=inc["department_code"],
                data=data,
            )

        event("rate", "closed")
        if rating == "unsatisfied" and settings.followup.reopen_unsatisfied:
            # Back to the command centre, which decides whether to dispatch it again.
            conn.execute(
                "UPDATE incidents SET status = 'registered', closed_at = NULL, due_at = NULL, "
                "updated_at = %s WHERE id = %s",
                (now, inc["id"]),
            )
            event("review", "registered")
    return outcome_document(load_outcome_row(conn, public_id), tr)
