"""GET /api/v1/stream: Server-Sent Events of the incidents the caller may follow."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import optional_user
from api.errors import BadRequest, Unauthorized
from api.services.identity.auth import User
from api.services.workflow.stream import follow
from api.services.workflow.stream_hub import StreamHub, Subscription

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


async def subscription(
    request: Request, user: Annotated[User, Depends(stream_user)]
) -> AsyncIterator[Subscription]:
    """A place among the process's streams (429/503 past the caps), fed by its one LISTEN
    connection, which is listening before the response starts (so nothing is missed)."""
    hub: StreamHub = request.app.state.stream_hub
    sub = hub.admit(user)
    try:
        await hub.listening()
        yield sub
    finally:
        hub.release(sub)


def last_event(
    last_event_id: Annotated[
        str | None, Header(description="id of the last event received; replays what followed")
    ] = None,
) -> int | None:
    """The Last-Event-ID header as an event id."""
    if last_event_id is None or not last_event_id.strip():
        return None
    value = last_event_id.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadRequest("Last-Event-ID must be the id of an event this stream sent.")
    return int(value)


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    request: Request,
    user: Annotated[User, Depends(stream_user)],
    after: Annotated[int | None, Depends(last_event)],
    sub: Annotated[Subscription, Depends(subscription)],
) -> AsyncIterable[ServerSentEvent]:
    """Live incident events (incident, status, whistle, check_in, update) as SSE; id = event id."""
    yield ServerSentEvent(comment="connected", retry=RETRY_MS)
    async for ev in follow(request.app.state.pool, sub, user, after):
        yield ServerSentEvent(raw_data=ev.data, event=ev.kind, id=str(ev.id))
