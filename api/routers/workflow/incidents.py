"""Reporting and reading incidents."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query

from api.deps import (
    BBoxDep,
    ClockDep,
    ConnDep,
    CrsDep,
    CurrentUser,
    CursorDep,
    IncidentFilterDep,
    OptionalUser,
    PageSizeDep,
    SettingsDep,
)
from api.deps_photos import PhotoWritesDep, ReportUploadDep
from api.errors import Unauthorized
from api.responses import JSON, GeoJSON
from api.services.identity.policy import incident_scope_fragment, incident_view
from api.services.photos.intake import report_with_photos
from api.services.workflow.view import incident_document
from gis.features import incidents_geojson

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
_INCIDENT_IN = {"$ref": "#/components/schemas/IncidentIn"}  # put there by api/openapi.py
# The body is read by ReportUploadDep (JSON or multipart), so it is described here.
REPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _INCIDENT_IN},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["report"],
                    "properties": {
                        "report": {"type": "string", "description": "the JSON report"},
                        "photo": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "up to GRIDGOV_MAX_PHOTOS photos (JPEG, PNG, WebP, "
                            "HEIC), each at most GRIDGOV_MAX_PHOTO_BYTES",
                        },
                    },
                }
            },
        },
    }
}


@router.post("", response_class=JSON, status_code=201, openapi_extra=REPORT_BODY)
def create_incident(
    upload: ReportUploadDep,
    conn: ConnDep,
    settings: SettingsDep,
    user: OptionalUser,
    clock: ClockDep,
    writes: PhotoWritesDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="same key + same body (and photos) → same incident"),
    ] = None,
) -> JSON:
    """Report a problem at a location (JSON, or multipart with photos): 201 with id, status,
    assignment and due time."""
    if user is None and not settings.api.public_reporting:
        raise Unauthorized("Reporting without a token is switched off here; sign in first.")
    result = report_with_photos(  # JSON, or multipart with photos (api/services/photo_intake)
        conn,
        settings,
        writes,
        upload.report,
        upload.photos,
        user=user,
        idempotency_key=idempotency_key or None,
        now=clock(),  # the app's clock: tests build dated histories with it
    )
    return JSON(result.incident, status_code=201 if result.created else 200)


@router.get("", response_class=GeoJSON)
def list_incidents(
    conn: ConnDep,
    user: CurrentUser,
    bbox: BBoxDep,
    limit: PageSizeDep,
    cursor: CursorDep,
    crs: CrsDep,
    where: IncidentFilterDep,
    order: Annotated[
        Literal["oldest", "newest"], Query(description="page order: by id, oldest or newest first")
    ] = "oldest",
) -> GeoJSON:
    """Incidents as GeoJSON, keyset-paged (`next_cursor`), filtered to what the caller may see."""
    body = incidents_geojson(
        conn,
        bbox=bbox,
        where=where,
        scope=incident_scope_fragment(conn, user),  # the policy filters (api/services/policy)
        limit=limit,
        cursor=cursor,
        newest_first=order == "newest",
        srid=crs,
    )
    return GeoJSON(body)


@router.get("/{incident_id}", response_class=JSON)
def get_incident(incident_id: str, conn: ConnDep, user: OptionalUser) -> JSON:
    """One incident with its events; the public view hides contact data, actors and notes."""
    # full document inside the caller's policy scope, else the public view (as anonymous)
    full = incident_view(conn, user, incident_id) == "full"
    # + workflow fields and the caller's allowed_actions (api/services/workflow/view.py)
    return JSON(incident_document(conn, incident_id, user, full=full))
