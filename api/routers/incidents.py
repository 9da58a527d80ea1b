"""Reporting and reading incidents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query

from api.deps import (
    BBoxDep,
    ConnDep,
    CurrentUser,
    CursorDep,
    OptionalUser,
    PageSizeDep,
    SettingsDep,
)
from api.errors import BadRequest, Unauthorized
from api.responses import JSON, GeoJSON
from api.schemas.incidents import IncidentIn
from api.services.incidents import incident_detail, reporter_user_id
from api.services.intake import report_incident
from gis.features import incidents_geojson

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

STATUSES = {
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "closed",
    "rejected",
    "suspended",
}


@router.post("", response_class=JSON, status_code=201)
def create_incident(
    report: IncidentIn,
    conn: ConnDep,
    settings: SettingsDep,
    user: OptionalUser,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="same key + same body → same incident")
    ] = None,
) -> JSON:
    """Report a problem at a location: 201 with id, status, assignment and due time."""
    if user is None and not settings.api.public_reporting:
        raise Unauthorized("Reporting without a token is switched off here; sign in first.")
    result = report_incident(
        conn, settings, report, user=user, idempotency_key=idempotency_key or None
    )
    return JSON(result.incident, status_code=201 if result.created else 200)


@router.get("", response_class=GeoJSON)
def list_incidents(
    conn: ConnDep,
    user: CurrentUser,
    bbox: BBoxDep,
    limit: PageSizeDep,
    cursor: CursorDep,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[dt.datetime | None, Query(description="updated at or after")] = None,
) -> GeoJSON:
    """Incidents as GeoJSON, keyset-paged (`next_cursor`); residents see only their own."""
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    unknown = sorted(set(statuses or ()) - STATUSES)
    if unknown:
        raise BadRequest(
            f"Unknown status {', '.join(unknown)}. Statuses: {', '.join(sorted(STATUSES))}."
        )
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    body = incidents_geojson(
        conn,
        bbox=bbox,
        statuses=statuses,
        grid=grid,
        department=department,
        since=since,
        reporter_user_id=user.id if user.role == "resident" else None,
        limit=limit,
        cursor=cursor,
    )
    return GeoJSON(body)


@router.get("/{incident_id}", response_class=JSON)
def get_incident(incident_id: str, conn: ConnDep, user: OptionalUser) -> JSON:
    """One incident with its events; the public view hides contact data, actors and notes."""
    full = user is not None and (
        user.role != "resident" or reporter_user_id(conn, incident_id) == user.id
    )
    return JSON(incident_detail(conn, incident_id, full=full))
