"""大联勤 joint patrols over HTTP: start, join, fixes, end, the document, list and track."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import (
    ClockDep,
    ConnDep,
    CurrentUser,
    ReadConnDep,
    ReadCurrentUser,
    RowId,
    SettingsDep,
)
from api.deps_held import HeldConnDep
from api.locale import TranslatorDep
from api.responses import JSON
from api.routers.workflow.stream import RETRY_MS, stream_user
from api.schemas.patrols import FixBatchIn, PatrolEndIn, PatrolIn
from api.services.identity.auth import User
from api.services.patrols.figures import coverage_csv, coverage_document
from api.services.patrols.fixes import add_fixes
from api.services.patrols.live import (
    PATROL_CHANNEL,
    in_scope,
    nearest_officers,
    on_patrol_now,
    scope_areas,
    tracks_today,
)
from api.services.patrols.store import (
    end_patrol,
    join_patrol,
    list_patrols,
    patrol_document,
    start_patrol,
)
from api.services.patrols.track import patrol_track
from api.services.workflow.stream import END
from api.services.workflow.stream_hub import StreamHub, Subscription

router = APIRouter(prefix="/api/v1", tags=["patrols"])


@router.post("/patrols", response_class=JSON, status_code=201)
def start(
    body: PatrolIn, conn: ConnDep, settings: SettingsDep, user: CurrentUser, clock: ClockDep
) -> JSON:
    """Start a patrol (grid officers, department staff); 200 for a repeated `client_id`."""
    pid, created = start_patrol(conn, user, body, clock())
    return JSON(patrol_document(conn, settings, user, pid), status_code=201 if created else 200)


@router.get("/patrols", response_class=JSON)
def patrols(
    conn: ConnDep,
    user: CurrentUser,
    clock: ClockDep,
    active: Annotated[bool | None, Query(description="true: not ended yet")] = None,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="started this recently")] = 24,
) -> JSON:
    """Patrols the caller may see; the last position only for dispatchers/admins of the scope."""
    since = clock() - dt.timedelta(hours=hours)
    return JSON({"patrols": list_patrols(conn, user, active=active, since=since)})


@router.get("/patrols/coverage", response_model=None)
def patrol_coverage(
    conn: ReadConnDep,
    settings: SettingsDep,
    user: ReadCurrentUser,
    clock: ClockDep,
    tr: TranslatorDep,
    start: Annotated[dt.date | None, Query(alias="from", description="first local day")] = None,
    to: Annotated[
        dt.date | None, Query(description="last local day (included); default today")
    ] = None,
    interval: Annotated[Literal["day", "week"], Query(description="rows per day or week")] = "day",
    format: Annotated[Literal["json", "csv"], Query(description="csv: UTF-8 with BOM")] = "json",
    headers: Annotated[
        Literal["labels", "codes"],
        Query(description="CSV header: labels in the caller's language, or the JSON's keys"),
    ] = "labels",
) -> Response:
    """Coverage per grid (admins; dispatchers: their area) and day/week (docs/metrics.md)."""
    last = to or clock().astimezone(ZoneInfo(settings.calendar.timezone)).date()
    doc = coverage_document(conn, settings, user, start, last, interval)
    if format == "csv":
        return Response(
            coverage_csv(doc, tr, codes=headers == "codes").encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="gridgov-patrols-{doc["from"]}.csv"'
            },
        )
    return JSON(doc)


@router.get("/patrols/tracks", response_class=JSON)
def tracks(conn: ConnDep, settings: SettingsDep, user: CurrentUser, clock: ClockDep) -> JSON:
    """Today's clean tracks (local day) of the scope's patrols, GeoJSON (dispatchers, admins)."""
    tz = ZoneInfo(settings.calendar.timezone)
    midnight = dt.datetime.combine(clock().astimezone(tz).date(), dt.time(), tzinfo=tz)
    return JSON(tracks_today(conn, user, midnight))


async def position_subscription(
    request: Request, user: Annotated[User, Depends(stream_user)], clock: ClockDep
) -> AsyncIterator[tuple[Subscription, list[dict[str, Any]], frozenset[str] | None]]:
    """The stream's place on the hub (listening before the snapshot is read: nothing missed),
    the positions of now and the scope's areas."""

    def snapshot() -> tuple[list[dict[str, Any]], frozenset[str] | None]:
        with request.app.state.pool.connection() as conn:
            areas = scope_areas(conn, user)  # 403 for roles that see no positions
            return on_patrol_now(conn, user, clock()), areas

    first, areas = await run_in_threadpool(snapshot)
    hub: StreamHub = request.app.state.stream_hub
    sub = hub.admit(user, PATROL_CHANNEL)
    try:
        await hub.listening()
        yield sub, first, areas
    finally:
        hub.release(sub)


@router.get("/patrols/live", response_class=EventSourceResponse)
async def live(
    sub: Annotated[
        tuple[Subscription, list[dict[str, Any]], frozenset[str] | None],
        Depends(position_subscription),
    ],
) -> AsyncIterable[ServerSentEvent]:
    """Officers on patrol, live (SSE; dispatchers and admins of the scope): first `positions`
    (every patrol of the scope whose last fix is ≤ 1 min old), then one `position` per batch."""
    queue, first, areas = sub
    yield ServerSentEvent(comment="connected", retry=RETRY_MS)
    yield ServerSentEvent(raw_data=orjson.dumps(first).decode(), event="positions")
    while True:
        item = await queue.queue.get()
        if item == END:
            return
        payload = item[1]
        if payload and in_scope(payload, areas):
            yield ServerSentEvent(raw_data=payload, event="position")


@router.get("/incidents/{incident_id}/nearest-officers", response_class=JSON)
def nearest(
    incident_id: Annotated[str, Path(min_length=1, max_length=64)],
    conn: ConnDep,
    user: CurrentUser,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=50, description="officers to list")] = 5,
) -> JSON:
    """就近派遣: on-duty officers of the caller's scope nearest to the case: by walking distance
    along the base map's streets when the database can route (pgRouting), else straight line."""
    return JSON(nearest_officers(conn, user, incident_id, clock(), limit))


@router.get("/patrols/{patrol_id}", response_class=JSON)
def patrol(patrol_id: RowId, conn: ConnDep, settings: SettingsDep, user: CurrentUser) -> JSON:
    """One patrol: members, distance and time of the clean track, flag counts, reports."""
    return JSON(patrol_document(conn, settings, user, patrol_id))


@router.post("/patrols/{patrol_id}/join", response_class=JSON)
def join(
    patrol_id: RowId, conn: ConnDep, settings: SettingsDep, user: CurrentUser, clock: ClockDep
) -> JSON:
    """A member confirms joining the patrol."""
    join_patrol(conn, user, patrol_id, clock())
    return JSON(patrol_document(conn, settings, user, patrol_id))


# Its own router, included first (api/main.py): every officer on patrol sends a batch a minute.
ingest = APIRouter(prefix="/api/v1", tags=["patrols"])


@ingest.post("/patrols/{patrol_id}/points", response_class=JSON)
async def points(
    patrol_id: RowId,
    body: FixBatchIn,
    held: HeldConnDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> JSON:
    """A batch of GPS fixes (any order; a repeated point id is stored once)."""
    now = clock()
    return JSON(
        await run_in_threadpool(
            held.run, lambda conn, user: add_fixes(conn, settings, user, patrol_id, body, now)
        )
    )


@router.post("/patrols/{patrol_id}/end", response_class=JSON)
def end(
    patrol_id: RowId,
    conn: ConnDep,
    settings: SettingsDep,
    user: CurrentUser,
    clock: ClockDep,
    body: PatrolEndIn | None = None,
) -> JSON:
    """End the patrol (the leader; ending again changes nothing)."""
    end_patrol(conn, user, patrol_id, body.at if body else None, clock())
    return JSON(patrol_document(conn, settings, user, patrol_id))


@router.get("/patrols/{patrol_id}/track", response_class=JSON)
def track(patrol_id: RowId, conn: ConnDep, user: CurrentUser) -> JSON:
    """The fixes with their flags (dispatchers and admins of the patrol's area only)."""
    return JSON(patrol_track(conn, user, patrol_id))
