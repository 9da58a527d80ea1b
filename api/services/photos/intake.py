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
from api.services.photos.image import Processed, process_photo
from api.services.photos.incident_photos import incident_photos, save_photos
from api.services.photos.rules import require_stage
from api.services.photos.store import PhotoWrites
from api.settings import Settings


class Uploaded(Protocol):
    """An uploaded file as the HTTP layer hands it over."""

    data: bytes
    content_type: str | None


def check_photos(settings: Settings, uploads: Sequence[Uploaded]) -> list[Processed]:
    """Every upload decoded and re-encoded before anything is stored: one refused, none kept."""
    return [process_photo(u.data, u.content_type, settings.photos) for u in uploads]


def report_checked(
    conn: Connection[Any],
    settings: Settings,
    report: IncidentIn,
    photos: Sequence[Processed],
    *,
    user: User | None,
    idempotency_key: str | None,
    now: dt.datetime,
    media_keys: Sequence[str] = (),
) -> IntakeResult:
    """`report_incident`, a replay of whose key must bring the same photos (by the hash of what
    was uploaded) and the same other media (`media_keys`, e.g. an Open311 media_url)."""
    return report_incident(
        conn,
        settings,
        report,
        user=user,
        idempotency_key=idempotency_key,
        now=now,
        photo_hashes=[p.upload_sha256 for p in photos] + list(media_keys),
    )


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
    processed = check_photos(settings, uploads)
    result = report_checked(
        conn, settings, report, processed, user=user, idempotency_key=idempotency_key, now=now
    )
    if not processed:
        return result
    doc = result.incident
    row = conn.execute("SELECT id FROM incidents WHERE public_id = %s", (doc["id"],)).fetchone()
    assert row is not None
    if result.created:
        save_photos(conn, settings, writes, row["id"], "report", processed, user, now)
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
    processed = check_photos(settings, uploads)
    inc = require_stage(conn, user, public_id, stage, lock=True)  # the status may have moved
    ids = save_photos(conn, settings, writes, inc["id"], stage, processed, user, now)
    return [p for p in incident_photos(conn, inc["id"], user, full=True) if p["id"] in ids]
