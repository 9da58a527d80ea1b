"""The case file's photos: storing them with their incident, listing them, and who sees which.

Who sees what (DESIGN.md §4, issue 16): the public view (anonymous callers, /report/{id},
Open311, OGC) shows `report` and `after` photos that no staff member has hidden; staff with the
incident in their scope see every photo, hidden ones marked, with the capture time and place
EXIF gave; a signed-in reporter sees the public ones plus their own uploads. Lists and tiles
never embed photos.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.errors import NotFound
from api.services.identity.auth import User
from api.services.identity.policy import incident_view
from api.services.photos.image import Processed
from api.services.photos.store import FileStore, PhotoWrites
from api.settings import Settings

STAGES = ("report", "before", "after", "verify", "info")
PUBLIC_STAGES = ("report", "after")
STAFF_ROLES = frozenset({"admin", "dispatcher", "officer", "department"})
PHOTO_URL = "/api/v1/photos/{id}"

INSERT_FILE_SQL = """
INSERT INTO photo_files (sha256, bytes, thumb_bytes, width, height)
VALUES (%(sha256)s, %(bytes)s, %(thumb_bytes)s, %(width)s, %(height)s)
ON CONFLICT (sha256) DO NOTHING
RETURNING sha256
"""

INSERT_PHOTO_SQL = """
INSERT INTO incident_photos (incident_id, stage, sha256, upload_sha256, original_format,
                             uploaded_at, uploaded_by, uploaded_by_user_id, captured_at,
                             capture_lon, capture_lat)
VALUES (%(incident_id)s, %(stage)s, %(sha256)s, %(upload_sha256)s, %(format)s, %(now)s,
        %(actor)s, %(user_id)s, %(captured_at)s, %(lon)s, %(lat)s)
RETURNING id
"""

# The photos of one incident, oldest first; bounded (uploads are at most max_photos per request,
# and the incident's own row lock serialises them), still capped so a list never runs away.
LIST_SQL = """
SELECT p.id, p.stage, p.uploaded_at, p.uploaded_by, p.uploaded_by_user_id, p.captured_at,
       p.capture_lon, p.capture_lat, p.hidden_at, p.hidden_by, p.hidden_reason,
       p.original_format, f.bytes, f.width, f.height, f.sha256
FROM incident_photos p JOIN photo_files f ON f.sha256 = p.sha256
WHERE p.incident_id = %(incident_id)s
ORDER BY p.id
LIMIT %(limit)s
"""
MAX_LISTED = 500

PHOTO_SQL = """
SELECT p.id, p.stage, p.sha256, p.hidden_at, p.uploaded_by_user_id, i.public_id
FROM incident_photos p JOIN incidents i ON i.id = p.incident_id
WHERE p.id = %s
"""


def store_for(settings: Settings) -> FileStore:
    """The configured photo store: GRIDGOV_PHOTO_DIR, else <data_dir>/photos."""
    root = settings.photos.photo_dir or Path(settings.db.data_dir) / "photos"
    return FileStore(root)


def save_photos(
    conn: Connection[Any],
    settings: Settings,
    writes: PhotoWrites,
    incident_id: int,
    stage: str,
    photos: Sequence[Processed],
    user: User | None,
    now: dt.datetime,
) -> list[int]:
    """Store files (before commit; `writes` removes them on rollback) and rows; the new ids.
    EXIF times without an offset are read in the calendar's time zone."""
    tz = ZoneInfo(settings.calendar.timezone)
    ids = []
    for p in photos:
        key = p.sha256
        row = conn.execute(
            INSERT_FILE_SQL,
            {
                "sha256": key,
                "bytes": len(p.photo),
                "thumb_bytes": len(p.thumb),
                "width": p.width,
                "height": p.height,
            },
        ).fetchone()
        # A new photo_files row is this transaction's: a concurrent upload of the same picture
        # waits on the row until we commit or roll back, so it never sees our file half-owned.
        if row is not None:
            writes.put(key, "photo", p.photo)
            writes.put(key, "thumb", p.thumb)
        else:  # committed before: its files exist, unless someone deleted them by hand
            for variant, data in (("photo", p.photo), ("thumb", p.thumb)):
                if not writes.store.exists(key, variant):
                    writes.store.put(key, variant, data)
        captured = p.captured_at
        if captured is not None and captured.tzinfo is None:
            captured = captured.replace(tzinfo=tz)  # EXIF without offset: local time
        new = conn.execute(
            INSERT_PHOTO_SQL,
            {
                "incident_id": incident_id,
                "stage": stage,
                "sha256": key,
                "upload_sha256": p.upload_sha256,
                "format": p.original_format,
                "now": now,
                "actor": user.name if user else "public",
                "user_id": user.id if user else None,
                "captured_at": captured,
                "lon": p.capture_lon,
                "lat": p.capture_lat,
            },
        ).fetchone()
        assert new is not None
        ids.append(int(new["id"]))
    return ids


def is_staff_view(user: User | None, full: bool) -> bool:
    """Staff looking at an incident in their scope (they see every photo and EXIF)."""
    return full and user is not None and user.role in STAFF_ROLES


def photo_json(row: dict[str, Any], *, staff: bool) -> dict[str, Any]:
    """One photo as the incident document lists it."""
    url = PHOTO_URL.format(id=row["id"])
    doc: dict[str, Any] = {
        "id": row["id"],
        "stage": row["stage"],
        "uploaded_at": row["uploaded_at"],
        "width": row["width"],
        "height": row["height"],
        "bytes": row["bytes"],
        "url": url,
        "thumb_url": url + "/thumb",
    }
    if staff:
        location = None
        if row["capture_lon"] is not None:
            location = {"type": "Point", "coordinates": [row["capture_lon"], row["capture_lat"]]}
        doc |= {
            "uploaded_by": row["uploaded_by"],
            "original_format": row["original_format"],
            "captured_at": row["captured_at"],
            "capture_location": location,
            "hidden": row["hidden_at"] is not None,
            "hidden_at": row["hidden_at"],
            "hidden_by": row["hidden_by"],
            "hidden_reason": row["hidden_reason"],
        }
    return doc


def public_photo(row: dict[str, Any]) -> bool:
    """Whether anyone may see this photo."""
    return row["stage"] in PUBLIC_STAGES and row["hidden_at"] is None


def incident_photos(
    conn: Connection[Any], incident_id: int, user: User | None, *, full: bool
) -> list[dict[str, Any]]:
    """The photos of an incident the caller may see, as the incident document lists them."""
    staff = is_staff_view(user, full)
    rows = conn.execute(LIST_SQL, {"incident_id": incident_id, "limit": MAX_LISTED}).fetchall()
    mine = user.id if user is not None and full else None
    return [
        photo_json(r, staff=staff)
        for r in rows
        if staff or public_photo(r) or (mine is not None and r["uploaded_by_user_id"] == mine)
    ]


def incident_photos_by_public_id(
    conn: Connection[Any], public_id: str, user: User | None, *, full: bool
) -> list[dict[str, Any]]:
    """`incident_photos` for an incident named by its case number."""
    row = conn.execute("SELECT id FROM incidents WHERE public_id = %s", (public_id,)).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    return incident_photos(conn, int(row["id"]), user, full=full)


PUBLIC_SQL = """
SELECT p.id, p.stage FROM incident_photos p JOIN incidents i ON i.id = p.incident_id
WHERE i.public_id = %(id)s AND p.stage = ANY(%(stages)s) AND p.hidden_at IS NULL
ORDER BY p.id LIMIT %(limit)s
"""


def public_photos(conn: Connection[Any], public_id: str) -> list[tuple[int, str]]:
    """(id, stage) of an incident's photos anyone may see (OGC item links)."""
    rows = conn.execute(
        PUBLIC_SQL, {"id": public_id, "stages": list(PUBLIC_STAGES), "limit": MAX_LISTED}
    ).fetchall()
    return [(int(r["id"]), str(r["stage"])) for r in rows]


def photo_key_for(conn: Connection[Any], photo_id: int, user: User | None) -> str:
    """The stored key of a photo the caller may see; 404 alike for missing and not visible."""
    row = conn.execute(PHOTO_SQL, (photo_id,)).fetchone()
    if row is None:
        raise NotFound(f"No photo {photo_id}.")
    if public_photo(row):
        return str(row["sha256"])
    full = user is not None and incident_view(conn, user, row["public_id"]) == "full"
    own = user is not None and row["uploaded_by_user_id"] == user.id
    if is_staff_view(user, full) or (full and own):
        return str(row["sha256"])
    raise NotFound(f"No photo {photo_id}.")  # not saying that it exists
