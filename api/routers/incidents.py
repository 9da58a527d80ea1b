"""Reporting and reading incidents."""

from __future__ import annotations

from typing import Annotated, Literal

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
from api.errors import Unauthorized
from api.responses import JSON, GeoJSON
from api.schemas.incidents import IncidentIn
from api.services.intake import report_incident
from api.services.policy import incident_scope_fragment, incident_view
from api.services.workflow_view import incident_document
from gis.features import incidents_geojson

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.post("", response_class=JSON, status_code=201)
def create_incident(
    report: IncidentIn,
    conn: ConnDep,
    settings: SettingsDep,
    user: OptionalUser,
    clock: ClockDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="same key + same body → same incident")
    ] = None,
) -> JSON:
    """Report a problem at a location: 201 with id, status, assignment and due time."""
    if user is None and not settings.api.public_reporting:
        raise Unauthorized("Reporting without a token is switched off here; sign in first.")
    result = report_incident(
        conn,
        settings,
        report,
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
    # + workflow fields and the caller's allowed_actions (api/services/workflow_view.py)
    return JSON(incident_document(conn, incident_id, user, full=full))
