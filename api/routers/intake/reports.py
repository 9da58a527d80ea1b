"""The reporter's side over HTTP: the public outcome, my reports, the lookup and 回访 rating."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import (
    ClockDep,
    ConnDep,
    CurrentUser,
    CursorDep,
    OptionalUser,
    PageSizeDep,
    SettingsDep,
)
from api.locale import TranslatorDep
from api.responses import JSON
from api.schemas.reports import LookupIn, RatingIn
from api.services.intake.outcome import lookup_report, my_reports, public_outcome
from api.services.workflow.followup import rate_incident

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/mine")
def mine(
    conn: ConnDep, user: CurrentUser, limit: PageSizeDep, cursor: CursorDep, tr: TranslatorDep
) -> JSON:
    """The signed-in user's own reports, newest first."""
    return JSON(my_reports(conn, user, limit, cursor, tr))


@router.post("/lookup")
def lookup(body: LookupIn, conn: ConnDep, user: OptionalUser, tr: TranslatorDep) -> JSON:
    """A report by tracking id + the reporter's phone or e-mail (404 when they do not match)."""
    return JSON(lookup_report(conn, body.id, body.contact, user, tr))


@router.get("/{incident_id}")
def outcome(incident_id: str, conn: ConnDep, tr: TranslatorDep) -> JSON:
    """The public outcome: status, handling note, rejection reason, deadline, public steps (their
    words in the caller's language: Accept-Language, ?lang=; Chinese by default)."""
    return JSON(public_outcome(conn, incident_id, tr))


@router.post("/{incident_id}/rating")
def rating(
    incident_id: str,
    body: RatingIn,
    conn: ConnDep,
    settings: SettingsDep,
    user: OptionalUser,
    clock: ClockDep,
    tr: TranslatorDep,
) -> JSON:
    """回访: rate a closed report once (the reporter), or record a phone follow-up (dispatcher)."""
    return JSON(
        rate_incident(
            conn,
            settings,
            user,
            incident_id,
            rating=body.rating,
            comment=body.comment,
            contact=body.contact,
            now=clock(),
            tr=tr,
        )
    )
