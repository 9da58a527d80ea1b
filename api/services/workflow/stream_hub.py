"""One LISTEN connection per process, fanned out to every open stream of that process.

A stream used to hold its own database connection for hours: 200 streams from one token
exhausted PostgreSQL (issue 15). Now the hub holds the process's single LISTEN connection and
hands each notification to the streams' queues; a stream reads its events through the request
pool, one short checkout per batch (api/services/workflow/stream.py). The hub also counts streams:
a cap
per process (503) and per user (429).

When the LISTEN connection is lost, notifications may have gone unheard: every stream is ended,
its client reconnects with Last-Event-ID and the gap is replayed from the table. A stream whose
queue overflows (it reads slower than events arrive) is ended the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import AsyncConnection

from api.errors import TooManyStreams, TooManyUserStreams
from api.services.identity.auth import User
from api.services.patrols.live import PATROL_CHANNEL
from api.services.workflow.events import CHANNEL
from api.services.workflow.stream import END, open_listener, parse_notification

log = logging.getLogger("gridgov.stream")

QUEUE_SIZE = 10_000  # notifications a stream may fall behind by before it is ended

# Chinese first (issue 17 moves these into the catalogue).
MESSAGES = {
    "process": "实时连接数已达上限，请稍后再试。"
    " (Too many live streams are open; try again shortly.)",
    "user": "您打开的实时连接过多，请先关闭其他页面。"
    " (You have too many live streams open; close other tabs first.)",
}


@dataclass(eq=False)
class Subscription:
    """One stream's queue of (event id, public id) pairs from notifications."""

    user_id: int
    channel: str = CHANNEL  # PATROL_CHANNEL: patrol positions (None, payload) instead
    queue: asyncio.Queue[tuple[int | None, str | None]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE + 1)
    )

    def offer(self, item: tuple[int | None, str | None]) -> None:
        """Queue a notification; a full queue ends the stream instead of growing."""
        if self.queue.qsize() >= QUEUE_SIZE:
            self.end()
            return
        self.queue.put_nowait(item)

    def end(self) -> None:
        """Make the stream finish after what it already has."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(END)

    def drain(self, limit: int) -> Iterator[tuple[int | None, str | None]]:
        """What is queued now, up to `limit` items, without waiting."""
        for _ in range(limit):
            try:
                yield self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return


class StreamHub:
    """The process's LISTEN connection and its open streams (one event loop: no locks)."""

    def __init__(self, url: str, max_streams: int, per_user: int) -> None:
        self.url, self.max_streams, self.per_user = url, max_streams, per_user
        self.subscriptions: set[Subscription] = set()
        self.per_user_open: dict[int, int] = {}
        self._conn: AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None

    def admit(self, user: User, channel: str = CHANNEL) -> Subscription:
        """Count a new stream for `user`, or refuse it: 503 for the process, 429 for the user."""
        if len(self.subscriptions) >= self.max_streams:
            raise TooManyStreams(MESSAGES["process"], {"limit": self.max_streams})
        if self.per_user_open.get(user.id, 0) >= self.per_user:
            raise TooManyUserStreams(MESSAGES["user"], {"limit": self.per_user})
        sub = Subscription(user.id, channel)
        self.subscriptions.add(sub)
        self.per_user_open[user.id] = self.per_user_open.get(user.id, 0) + 1
        return sub

    def release(self, sub: Subscription) -> None:
        """Forget a finished stream."""
        if sub in self.subscriptions:
            self.subscriptions.discard(sub)
            left = self.per_user_open.get(sub.user_id, 1) - 1
            if left:
                self.per_user_open[sub.user_id] = left
            else:
                self.per_user_open.pop(sub.user_id, None)

    async def listening(self) -> None:
        """Make sure the LISTEN connection is up (opened on the first stream, then kept)."""
        if self._task is not None and not self._task.done():
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._task is not None and not self._task.done():
                return
            self._conn = await open_listener(self.url, PATROL_CHANNEL)
            self._task = asyncio.create_task(self._pump(self._conn), name="gridgov-stream-hub")

    async def _pump(self, conn: AsyncConnection[Any]) -> None:
        try:
            async for note in conn.notifies():
                if note.channel == PATROL_CHANNEL:  # 大联勤 positions: the payload itself
                    item: tuple[int | None, str | None] = (None, note.payload or None)
                else:
                    item = parse_notification(note.payload)
                if item == END:
                    continue
                for sub in list(self.subscriptions):
                    if sub.channel == note.channel:
                        sub.offer(item)
        except psycopg.OperationalError as exc:
            log.warning("stream hub lost its LISTEN connection (%s); ending streams", exc)
        finally:
            # Unheard notifications: every stream ends and its client replays what it missed.
            for sub in list(self.subscriptions):
                sub.end()
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        """Stop listening (app shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                await self._task
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
