"""GET /api/v1/stream: Server-Sent Events of the incidents the caller may follow."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection

from api.db.session import database_url
from api.deps import SettingsDep, optional_user
from api.errors import BadRequest, TooManyStreams, Unauthorized
from api.services.auth import User
from api.services.stream import follow, open_listener

router = APIRouter(prefix="/api/v1", tags=["stream"])

RETRY_MS = 3000


def stream_user(request: Request, authorization: Annotated[str | None, Header()] = None) -> User:
    """The caller (token or page session), checked on a pooled connection handed back before
    streaming starts: a stream must not hold a pool connection for hours."""
    with request.app.state.pool.connection() as conn:
        user = optional_user(request=request, conn=conn, authorization=authorization)
    if user is None:
        raise Unauthorized("This needs a token (Authorization: Bearer …) or a signed-in page.")
    return user


async def stream_slot(request: Request, settings: SettingsDep) -> AsyncIterator[None]:
    """Count open streams (one event loop, so no lock) and refuse past the configured cap."""
    state = request.app.state
    if getattr(state, "stream_clients", 0) >= settings.api.stream_max_clients:
        raise TooManyStreams(
            "Too many live streams are open; try again shortly.",
            {"limit": settings.api.stream_max_clients},
        )
    state.stream_clients = getattr(state, "stream_clients", 0) + 1
    try:
        yield
    finally:
        state.stream_clients -= 1


async def listener(
    settings: SettingsDep, _slot: Annotated[None, Depends(stream_slot)]
) -> AsyncIterator[AsyncConnection[Any]]:
    """A dedicated LISTEN connection, open before the response starts and closed after it ends."""
    conn = await open_listener(database_url(settings.db))
    try:
        yield conn
    finally:
        await conn.close()


def last_event(
    last_event_id: Annotated[
        str | None, Header(description="id of the last event received; replays what followed")
    ] = None,
) -> int | None:
    """The Last-Event-ID header as an event id."""
    if last_event_id is None or not last_event_id.strip():
        return None
    value = last_event_id.strip()
    if not value.isdigit() or len(value) > 18:
        raise BadRequest("Last-Event-ID must be the id of an event this stream sent.")
    return int(value)


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    user: Annotated[User, Depends(stream_user)],
    conn: Annotated[AsyncConnection[Any], Depends(listener)],
    after: Annotated[int | None, Depends(last_event)],
) -> AsyncIterable[ServerSentEvent]:
    """Live incident events (incident, status, whistle, check_in, update) as SSE; id = event id."""
    yield ServerSentEvent(comment="connected", retry=RETRY_MS)
    async for ev in follow(conn, user, after):
        yield ServerSentEvent(raw_data=ev.data, event=ev.kind, id=str(ev.id))
