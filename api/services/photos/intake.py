"""Photos arriving with a report or at a stage of the loop: check them all, then store them.

Every photo is decoded and re-encoded before anything is written, so a refused photo stores
nothing, and neither does the report it came with. Files are written through the request's
`PhotoWrites` (removed again if the transaction does not commit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from psycopg import Connection

from api.schemas.incidents import IncidentIn
from api.services.identity.auth import User
from api.services.intake.report import IntakeResult, report_incident
from api.services.photos.image import process_photo
from api.services.photos.incident_photos import incident_photos, save_photos
from api.services.photos.rules import require_stage
from api.services.photos.store import PhotoWrites
from api.settings import Settings


class Uploaded(Protocol):
    """An uploaded file as the HTTP layer hands it over."""

    data: bytes
    content_type: str | None


def report_with_photos(
    conn: Connection[Any],
    settings: Settings,
    writes: PhotoWrites,
    report: IncidentIn,
    uploads: Sequence[Uploaded],
    *,
    user: User | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> IntakeResult:
    """POST /api/v1/incidents: the report and its `report` photos, or nothing; a replay of the
    same key with the same photos answers the stored incident and writes no file."""
    processed = [process_photo(u.data, u.content_type, settings.photos) for u in uploads]
    result = report_incident(
        conn,
        settings,
        report,
        user=user,
        idempotency_key=idempotency_key,
        now=now,
        photo_hashes=[p.upload_sha256 for p in processed],
    )
    if not processed:
        return result
    doc = result.incident
    row = conn.execute("SELECT id FROM incidents WHERE public_id = %s", (doc["id"],)).fetchone()
    assert row is not None
    if result.created:
        save_photos(
            conn,
            writes,
            incident_id=row["id"],
            stage="report",
            photos=processed,
            user=user,
            now=now,
            tz=settings.calendar.timezone,
        )
    doc["photos"] = incident_photos(conn, row["id"], user, full=True)
    return result


def add_stage_photos(
    conn: Connection[Any],
    settings: Settings,
    writes: PhotoWrites,
    user: User,
    public_id: str,
    stage: str,
    uploads: Sequence[Uploaded],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """POST /api/v1/incidents/{id}/photos: the new photos as the incident document lists them."""
    require_stage(conn, user, public_id, stage, lock=False)  # refuse before the costly decoding
    processed = [process_photo(u.data, u.content_type, settings.photos) for u in uploads]
    inc = require_stage(conn, user, public_id, stage, lock=True)  # the status may have moved
    ids = save_photos(
        conn,
        writes,
        incident_id=inc["id"],
        stage=stage,
        photos=processed,
        user=user,
        now=now,
        tz=settings.calendar.timezone,
    )
    return [p for p in incident_photos(conn, inc["id"], user, full=True) if p["id"] in ids]
