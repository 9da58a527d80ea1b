"""The case file's photos over HTTP: add photos at a stage, serve them, hide one from the public."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from api.deps import ClockDep, ConnDep, CurrentUser, OptionalUser, RowId, SettingsDep
from api.deps_photos import PhotoWritesDep, form_value, is_multipart, read_parts
from api.errors import NotFound, UnsupportedMediaType, ValidationFailed
from api.responses import JSON
from api.services.identity.policy import incident_view
from api.services.photos.incident_photos import incident_photos, photo_key_for, store_for
from api.services.photos.intake import add_stage_photos
from api.services.photos.rules import STAGE_RULES, hide_photo
from api.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["photos"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["stage", "photo"],
                    "properties": {
                        "stage": {"type": "string", "enum": sorted(STAGE_RULES)},
                        "photo": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "JPEG, PNG, WebP or HEIC; up to GRIDGOV_MAX_PHOTOS",
                        },
                    },
                }
            }
        },
    }
}


class HideIn(BaseModel):
    """Why a photo is taken out of the public view."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


@router.post(
    "/incidents/{incident_id}/photos",
    response_class=JSON,
    status_code=201,
    openapi_extra=UPLOAD_BODY,
)
async def add_photos(
    incident_id: str,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    user: CurrentUser,
    clock: ClockDep,
    writes: PhotoWritesDep,
) -> JSON:
    """Add photos at a stage (report, before, after, verify, info) as the stage's role allows."""
    if not is_multipart(request):
        raise UnsupportedMediaType(
            "Send photos as multipart/form-data: a field 'stage' and one or more 'photo' files.",
            {"content_type": request.headers.get("content-type", "")},
        )
    parts = await read_parts(request, settings.photos, "photo")
    stage = form_value(parts, "stage")
    if stage not in STAGE_RULES:
        raise ValidationFailed(
            "stage must be one of " + ", ".join(sorted(STAGE_RULES)) + ".",
            {"problems": [{"field": "stage", "problem": "unknown stage"}]},
        )
    if not parts.files:
        raise ValidationFailed(
            "Attach at least one 'photo' file.",
            {"problems": [{"field": "photo", "problem": "missing"}]},
        )

    photos = await run_in_threadpool(
        add_stage_photos, conn, settings, writes, user, incident_id, stage, parts.files, clock()
    )
    return JSON({"incident": incident_id, "photos": photos}, status_code=201)


def _image(settings: Settings, request: Request, key: str, variant: str) -> Response:
    etag = f'"{key}-{variant}"'
    # Revalidate every time (no-cache): a photo hidden later must stop being served at once.
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    data = store_for(settings).get(key, variant)
    if data is None:
        raise NotFound("The photo's file is missing from the photo store; tell the administrator.")
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get("/photos/{photo_id}", response_class=Response)
def photo(
    photo_id: RowId, request: Request, conn: ConnDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    """The photo (JPEG, at most 2048 px, no metadata) if the caller may see it."""
    return _image(settings, request, photo_key_for(conn, photo_id, user), "photo")


@router.get("/photos/{photo_id}/thumb", response_class=Response)
def thumb(
    photo_id: RowId, request: Request, conn: ConnDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    """The photo's thumbnail (JPEG, at most 320 px)."""
    return _image(settings, request, photo_key_for(conn, photo_id, user), "thumb")


@router.post("/photos/{photo_id}/hide", response_class=JSON)
def hide(photo_id: RowId, body: HideIn, conn: ConnDep, user: CurrentUser, clock: ClockDep) -> JSON:
    """Hide a photo from the public view, with a reason (event `hide_photo`); staff still see it."""
    public_id = hide_photo(conn, user, photo_id, body.reason, clock())
    full = incident_view(conn, user, public_id) == "full"
    row = conn.execute("SELECT id FROM incidents WHERE public_id = %s", (public_id,)).fetchone()
    assert row is not None
    listed = incident_photos(conn, int(row["id"]), user, full=full)
    return JSON({"incident": public_id, "photos": listed})
