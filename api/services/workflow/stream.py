"""Live updates for one user: incident events fed by PostgreSQL LISTEN/NOTIFY.

Design: each process has one autocommit connection that LISTENs on `gridgov_incidents` and
fans notifications out to its streams (api/services/workflow/stream_hub.py); a stream holds no
database
connection of its own and reads events through the request pool, one short checkout per batch.
A notification only says *which* event happened (`{"event_id": …}` from workflow actions,
whistles and check-ins; the bare public id from intake, meaning its `report` event); the event
itself is read from `incident_events` with the user's visibility condition, so the table is the
single source of truth and the SSE id is `incident_events.id`. Reconnecting with
`Last-Event-ID` replays the visible events after that id from the table, then goes live.

Events are fetched by the ids named in notifications rather than "everything after the last id
sent", because ids are handed out at INSERT but become visible at COMMIT: a later id may commit
first, and a high-water mark would then skip the earlier one for good.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool

from api.services.identity.auth import User
from api.services.identity.policy import event_scope
from api.services.workflow.events import CHANNEL
from gis.event_feed import event_feed_query

if TYPE_CHECKING:
    from api.services.workflow.stream_hub import Subscription

log = logging.getLogger("gridgov.stream")
END: tuple[int | None, str | None] = (None, None)  # in a queue: the stream must end

REPLAY_BATCH = 500
LIVE_BATCH = 1000


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: `id` is the incident event id, `kind` the SSE event name."""

    id: int
    kind: str
    data: str


def event_kind(action: str, from_status: str | None, to_status: str) -> str:
    """SSE event name: incident (new report), status, whistle, check_in, or update."""
    if action == "report":
        return "incident"
    if action in ("whistle", "check_in"):
        return action
    return "status" if from_status != to_status else "update"


async def open_listener(url: str, *channels: str) -> AsyncConnection[Any]:
    """An autocommit connection listening on the incidents channel and `channels` (the process's
    hub's)."""
    conn = await AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row, application_name="gridgov-stream"
    )
    try:
        for channel in (CHANNEL, *channels):
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    except BaseException:
        await conn.close()
        raise
    return conn


def parse_notification(payload: str) -> tuple[int | None, str | None]:
    """(event id, None) for workflow payloads; (None, public id) for intake's bare id."""
    if payload.startswith("{"):
        try:
            event_id = orjson.loads(payload).get("event_id")
        except (orjson.JSONDecodeError, AttributeError):
            return None, None
        return (event_id, None) if isinstance(event_id, int) else (None, None)
    return None, payload or None


def _fetch(
    pool: ConnectionPool[Any],
    user: User,
    which: str,
    params: dict[str, Any],
    limit: int,
) -> list[StreamEvent]:
    visible, vis_params = event_scope(user)
    query = event_feed_query(sql.SQL(which), visible)
    with pool.connection() as conn:  # a short checkout: streams hold no connection between
        rows = conn.execute(query, {**params, **vis_params, "limit": limit}).fetchall()
    return [
        StreamEvent(r["id"], event_kind(r["action"], r["from_status"], r["to_status"]), r["doc"])
        for r in rows
    ]


async def follow(
    pool: ConnectionPool[Any], sub: Subscription, user: User, last_event_id: int | None
) -> AsyncIterator[StreamEvent]:
    """Replay after `last_event_id` (if given), then yield visible events as they commit.

    `sub` must already receive notifications (StreamHub.listening, then admit) so nothing
    committed during the replay is missed; events seen in both are sent once. Ends when the hub
    ends the subscription or the database cannot be reached (the client reconnects).
    """
    replayed: set[int] = set()
    try:
        after = last_event_id
        while after is not None:
            where, since = "e.id > %(after)s", {"after": after}
            batch = await run_in_threadpool(_fetch, pool, user, where, since, REPLAY_BATCH)
            for ev in batch:
                replayed.add(ev.id)
                yield ev
            after = batch[-1].id if len(batch) == REPLAY_BATCH else None
        while True:
            items = [await sub.queue.get(), *sub.drain(LIVE_BATCH - 1)]
            ended = END in items
            if ended:
                items = items[: items.index(END)]
            ids = [e for e, _ in items if e is not None]
            public_ids = [p for _, p in items if p is not None]
            if ids or public_ids:
                which = (
                    "e.id = ANY(%(ids)s) OR (t.public_id = ANY(%(pids)s) AND e.action = 'report')"
                )
                params = {"ids": ids, "pids": public_ids}
                for ev in await run_in_threadpool(_fetch, pool, user, which, params, LIVE_BATCH):
                    if ev.id not in replayed:
                        yield ev
            if ended:
                return
    except (psycopg.OperationalError, PoolTimeout) as exc:
        # The database went away: end the stream; the client reconnects with Last-Event-ID.
        log.warning("stream for %s ended: %s", user.name, exc)
