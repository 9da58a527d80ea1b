"""In-process LRU cache of vector tiles that never serves a tile older than the last save.

Every cached tile remembers the table it shows and the lon/lat box its content depends on (the
tile plus its buffer). A change to an area, building or incident drops exactly the cached tiles
of that table whose box meets the changed box (old and new geometry): a new incident leaves the
area tiles alone. Invalidations arrive two ways:

1. `invalidate(conn, bbox, table)`, called by a write path of this process inside its
   transaction: the tiles go at once, and the box stays *pending* (nothing meeting it is
   cached) until the transaction commits — a render that read the old rows cannot slip back.
2. NOTIFY on channel `gridgov_tiles`, delivered on commit to every process that LISTENs (one
   listener thread per cache): sent by `invalidate` itself (clearing its pending box) and by the
   statement trigger on areas, buildings and incidents (migration 0007) for every write from any
   door — other uvicorn workers, the CLI, psql. So several workers each keep a correct cache.

A render records the cache generation before it reads the database; `put` refuses the tile if
an invalidation meeting its box came in since. While the listener is disconnected (other
processes' writes could be missed), the cache is emptied and stores nothing until it is back.
Incident tiles also expire when the first open incident in them becomes overdue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import weakref
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import Connection, sql

log = logging.getLogger("gridgov.tiles")

CHANNEL = "gridgov_tiles"
BBox = tuple[float, float, float, float]
Key = tuple[str, str, int, int, int]  # layer, params (e.g. level), z, x, y
Change = tuple[str | None, BBox | None]  # table (None: any), box (None: everywhere)
PENDING_TTL_S = 120.0  # a write that never commits stops holding its box back after this
LOG_SIZE = 4096

_caches: weakref.WeakSet[TileCache] = weakref.WeakSet()


@dataclass(frozen=True)
class CachedTile:
    """A rendered tile and what it depends on: rows of `table` whose box meets `bbox`."""

    data: bytes
    table: str
    bbox: BBox
    truncated: bool
    expires_at: float | None = None  # epoch seconds; None = until invalidated
    gzipped: bytes = b""  # `data` gzip-compressed, served to clients that accept gzip


def _meets(a: BBox | None, b: BBox) -> bool:
    """Closed boxes intersect (None = the whole world)."""
    return a is None or (a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3])


def _touches(change: Change, tile: CachedTile) -> bool:
    """Whether a change (table or None = any, box or None = anywhere) can alter the tile."""
    table, bbox = change
    return (table is None or table == tile.table) and _meets(bbox, tile.bbox)


class TileCache:
    """A bounded LRU of tiles keyed by (layer, params, z, x, y), invalidated by box."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, CachedTile] = OrderedDict()
        self._generation = 0
        self._log: deque[tuple[int, Change, float]] = deque(maxlen=LOG_SIZE)  # + monotonic()
        self._forgotten = 0  # highest generation that fell off the log
        self._pending: dict[str, tuple[Change, float]] = {}
        self._degraded = False
        self.hits = self.misses = self.notifications = 0
        self._heard: deque[str] = deque(maxlen=256)  # recent tokens, for wait_for_token
        self._notified = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._url = ""
        self._conn: Connection[Any] | None = None
        self._thread: threading.Thread | None = None
        _caches.add(self)

    # --- reading and storing ------------------------------------------------------------

    def get(self, key: Key) -> CachedTile | None:
        """The cached tile, or None (counted as a miss)."""
        with self._lock:
            tile = self._entries.get(key)
            if tile is not None and tile.expires_at is not None and tile.expires_at <= time.time():
                del self._entries[key]
                tile = None
            if tile is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return tile

    def generation(self) -> int:
        """Take this before reading the database for a tile; hand it to `put`."""
        with self._lock:
            return self._generation

    def put(
        self, key: Key, tile: CachedTile, since: int, heard_before: float | None = None
    ) -> bool:
        """Store a tile rendered from data read after `since`, unless it may already be stale.

        `heard_before` (a replica's render, see `lagged`): changes heard at or after this
        time.monotonic() may be missing from the data too, so they also keep the tile out.
        """
        with self._lock:
            self._expire_pending()
            if self.max_entries <= 0 or self._degraded or since < self._forgotten:
                return False
            if any(_touches(c, tile) for c, _ in self._pending.values()):
                return False
            settled = heard_before is None
            for g, change, heard in reversed(self._log):  # newest first
                if g <= since and (heard_before is None or heard < heard_before):
                    settled = True
                    break
                if _touches(change, tile):
                    return False
            if not settled and self._forgotten:  # older changes fell off the log: unknown
                return False
            self._entries[key] = tile
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return True

    def lagged(self, lag_s: float) -> LaggedTiles:
        """This cache for renders read on a replica up to `lag_s` behind the primary."""
        return LaggedTiles(self, lag_s)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    # --- invalidation -------------------------------------------------------------------

    def drop(self, change: Change, pending: str | None = None) -> int:
        """Drop the cached tiles a change touches; `pending` holds it back until cleared."""
        with self._lock:
            if pending is not None:
                self._pending[pending] = (change, time.monotonic() + PENDING_TTL_S)
            return self._drop_locked(change)

    def _drop_locked(self, change: Change) -> int:
        self._generation += 1
        if len(self._log) == self._log.maxlen:
            self._forgotten = self._log[0][0]
        self._log.append((self._generation, change, time.monotonic()))
        gone = [k for k, t in self._entries.items() if _touches(change, t)]
        for k in gone:
            del self._entries[k]
        return len(gone)

    def _expire_pending(self) -> None:
        now = time.monotonic()
        for token, (change, deadline) in list(self._pending.items()):
            if deadline <= now:  # its transaction never committed (or we missed the NOTIFY)
                del self._pending[token]
                self._drop_locked(change)

    def apply_notification(self, payload: str) -> None:
        """Act on one NOTIFY payload {"table"?, "bbox": [x0, y0, x1, y1] | null, "token"?}."""
        try:
            msg = json.loads(payload)
            raw = msg.get("bbox")
            bbox: BBox | None = None if raw is None else _bbox(raw)
            table = msg.get("table")
        except (ValueError, TypeError, AttributeError):
            log.warning("ignoring malformed %s payload %r", CHANNEL, payload[:200])
            return
        with self._lock:
            self._drop_locked((None if table is None else str(table), bbox))
            token = msg.get("token")
            if token is not None:
                self._pending.pop(str(token), None)
                self._heard.append(str(token))
            self.notifications += 1
            self._notified.notify_all()

    def wait_for_token(self, token: str, timeout: float = 10.0) -> bool:
        """Block until the listener has heard the NOTIFY carrying `token` (tests, tools)."""
        with self._lock:
            return self._notified.wait_for(lambda: token in self._heard, timeout)

    # --- the listener -------------------------------------------------------------------

    def listen(self, url: str) -> None:
        """LISTEN on the channel now (so no commit after this is missed), then follow it."""
        self._url = url
        self._conn = self._connect()
        self._thread = threading.Thread(target=self._follow, name="gridgov-tiles", daemon=True)
        self._thread.start()

    def _connect(self) -> Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True, application_name="gridgov-tiles")
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        return conn

    def _follow(self) -> None:
        while not self._stop.is_set():
            conn = self._conn
            try:
                assert conn is not None
                for note in conn.notifies():
                    self.apply_notification(note.payload)
            except (psycopg.Error, AssertionError) as exc:
                if self._stop.is_set():
                    return
                log.warning("tile cache listener lost its connection (%s); reconnecting", exc)
            with self._lock:  # writes elsewhere may go unheard: cache nothing until back
                self._degraded = True
                self._drop_locked((None, None))
            self._conn = self._reconnect()
            with self._lock:
                self._drop_locked((None, None))
                self._degraded = self._conn is None

    def _reconnect(self) -> Connection[Any] | None:
        while not self._stop.wait(1.0):
            try:
                return self._connect()
            except psycopg.Error as exc:
                log.warning("tile cache listener cannot reconnect yet: %s", exc)
        return None

    def close(self) -> None:
        """Stop listening and forget every tile."""
        self._stop.set()
        if self._conn is not None:
            self._conn.close()  # wakes the listener thread out of notifies()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._entries.clear()
        _caches.discard(self)


class TileStore(Protocol):
    """What a tile render needs of a cache (TileCache, or its LaggedTiles view)."""

    def get(self, key: Key) -> CachedTile | None: ...
    def generation(self) -> int: ...
    def put(self, key: Key, tile: CachedTile, since: int) -> bool: ...


class LaggedTiles:
    """A TileCache seen by one render that reads a streaming replica (api/db/read_pool.py).

    The replica may not yet show what the primary committed in the last `lag_s` seconds, while
    the NOTIFY of those commits (from the primary) has already been heard: a tile is stored only
    if no change meeting it was heard since `lag_s` before the render began, so the cache never
    keeps a tile older than the last save (it is served, uncached, meanwhile).
    """

    def __init__(self, cache: TileCache, lag_s: float) -> None:
        self.cache = cache
        self.lag_s = lag_s
        self._started = time.monotonic()

    def get(self, key: Key) -> CachedTile | None:
        return self.cache.get(key)

    def generation(self) -> int:
        self._started = time.monotonic()
        return self.cache.generation()

    def put(self, key: Key, tile: CachedTile, since: int) -> bool:
        return self.cache.put(key, tile, since, heard_before=self._started - self.lag_s)


def _bbox(raw: Sequence[Any]) -> BBox:
    x0, y0, x1, y1 = (float(v) for v in raw)
    return x0, y0, x1, y1


def invalidate(conn: Connection[Any], bbox: BBox | None, table: str | None = None) -> None:
    """Drop the cached tiles showing `table` (areas, buildings, incidents; None = all) in `bbox`.

    `bbox` is lon/lat (x0, y0, x1, y1) covering the old and the new geometry; None = everywhere.
    Call it from a write path, inside the transaction that makes the change: this process's
    tiles go now and are not re-cached until commit; every other process hears it on commit.
    """
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, invalidation(bbox, table)))


def invalidation(bbox: BBox | None, table: str | None = None) -> str:
    """`invalidate` without the NOTIFY: drop the tiles now and return the payload that the caller
    must send with `pg_notify('gridgov_tiles', payload)` in its own statement (one round trip
    fewer on a hot write path such as report intake)."""
    token = uuid.uuid4().hex
    for cache in list(_caches):
        cache.drop((table, bbox), pending=token)
    box = None if bbox is None else list(bbox)
    return json.dumps({"token": token, "table": table, "bbox": box})
