"""Reporting and reading incidents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query

from api.db.models import STATUSES
from api.deps import (
    BBoxDep,
    ClockDep,
    ConnDep,
    CrsDep,
    CurrentUser,
    CursorDep,
    OptionalUser,
    PageSizeDep,
    SettingsDep,
)
from api.errors import BadRequest, Unauthorized
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
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[dt.datetime | None, Query(description="updated at or after")] = None,
    overdue: Annotated[bool | None, Query(description="open and past due_at (or not)")] = None,
    category: Annotated[
        str | None, Query(max_length=32, description="category code prefix, e.g. SJ01")
    ] = None,
    area: Annotated[str | None, Query(max_length=64, description="area code of any level")] = None,
) -> GeoJSON:
    """Incidents as GeoJSON, keyset-paged (`next_cursor`), filtered to what the caller may see."""
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    unknown = sorted(set(statuses or ()) - set(STATUSES))
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
        overdue=overdue,
        scope=incident_scope_fragment(conn, user),  # the policy filters (api/services/policy)
        limit=limit,
        cursor=cursor,
        srid=crs,
        category=category,
        area=area,
    )
    return GeoJSON(body)


@router.get("/{incident_id}", response_class=JSON)
def get_incident(incident_id: str, conn: ConnDep, user: OptionalUser) -> JSON:
    """One incident with its events; the public view hides contact data, actors and notes."""
    # full document inside the caller's policy scope, else the public view (as anonymous)
    full = incident_view(conn, user, incident_id) == "full"
    # + workflow fields and the caller's allowed_actions (api/services/workflow_view.py)
    return JSON(incident_document(conn, incident_id, user, full=full))
