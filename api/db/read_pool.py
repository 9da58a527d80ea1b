"""Reads that tolerate a second of lag: on a streaming replica while it answers and keeps up.

One mechanism (docs/scaling.md): routes that may read slightly old data take `ReadConnDep`
(api/deps.py), which asks `ReadPool.connection()`. With GRIDGOV_READ_DATABASE_URL unset that is
a connection of the primary pool, exactly as before. With a replica it is a connection of the
replica's pool, unless the replica
- cannot be reached (down, refusing, its pool exhausted): then the primary serves reads for
  GRIDGOV_READ_RETRY_S before the replica is tried again; or
- lags: at most once a second a checked-out connection asks the replica how far its replay is
  behind; more than GRIDGOV_READ_MAX_LAG_S (or no WAL stream at all) sends reads to the primary
  until the next check.
Writes and reads of one's own writes never come here: they take `ConnDep`, the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Connection
from psycopg_pool import ConnectionPool, PoolTimeout

from api.db.session import libpq_url, open_pool
from api.settings import DatabaseSettings

log = logging.getLogger("gridgov.read")

LAG_CHECK_S = 1.0  # how often the replica's replay lag is asked (one query per interval)
# A checkout waits this long for a replica connection before the primary takes the read: a
# replica that is down must cost a request a moment, not the pool's full timeout.
CHECKOUT_S = 0.25
# A spare connection (`ReadPool.spare`) is taken only if one comes at once: a read that can use
# a second core must never make another request wait for a connection.
SPARE_S = 0.02
# ... nor take the last ones: a spare is taken only while nobody waits for a connection and this
# share of the pool's size stays free or unopened after it (a stats page has up to six requests
# in flight, three of them evaluation reads that may each take a spare: a few readers at once
# would fill a pool of 16)
SPARE_RESERVE = 0.25


def can_spare(pool: ConnectionPool[Any]) -> bool:
    """Whether a spare connection may be taken from `pool` now (SPARE_RESERVE)."""
    stats = pool.get_stats()
    if stats.get("requests_waiting", 0):
        return False
    free = stats.get("pool_available", 0) + pool.max_size - stats.get("pool_size", 0)
    return free - 1 >= int(pool.max_size * SPARE_RESERVE)


# Lag as the replica sees it: nothing received but not replayed → 0; otherwise the age of the
# last replayed commit (an upper bound: after a quiet spell, WAL just received counts as old as
# the last commit replayed, so reads go to the primary for a second; the safe side). No WAL
# receiver: the replica cannot know what it misses.
LAG_SQL = """
SELECT pg_is_in_recovery() AS standby,
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS streaming,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9)
       END::float8 AS lag_s
"""


def lag_problem(conn: Connection[Any], max_lag_s: float) -> tuple[str, bool] | None:
    """Why this server should not take lag-tolerant reads now (and whether it is only lag, to
    be asked again in a second), or None when it may."""
    row = conn.execute(LAG_SQL).fetchone()
    assert row is not None
    if not row["standby"]:
        return None  # a primary (e.g. a pooler in front of it): current by definition
    if not row["streaming"]:
        return "the replica receives no WAL stream", False
    if row["lag_s"] > max_lag_s:
        return f"the replica's replay is {row['lag_s']:.1f} s behind", True
    return None


class ReadPool:
    """Hands out connections for lag-tolerant reads: the replica's, else the primary's."""

    def __init__(
        self,
        primary: ConnectionPool[Connection[dict]],
        replica: ConnectionPool[Connection[dict]] | None = None,
        max_lag_s: float = 1.0,
        retry_s: float = 5.0,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_s = max_lag_s
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._avoid_until = 0.0  # time.monotonic(): no replica reads before this
        self._checked_at = float("-inf")
        self.reason = "no replica configured" if replica is None else ""
        self.replica_reads = self.primary_reads = 0

    @property
    def settle_s(self) -> float:
        """How old a replica's data can be while reads go there (the tile cache waits this)."""
        return self.max_lag_s + LAG_CHECK_S

    def status(self) -> dict[str, Any]:
        """Where reads go now and why (GET /healthz)."""
        if self.replica is None:
            return {"reads": "primary", "replica": None}
        avoided = time.monotonic() < self._avoid_until
        out: dict[str, Any] = {"reads": "primary" if avoided else "replica", "replica": "ok"}
        if avoided:
            out["replica"] = self.reason
        return out

    def _avoid(self, seconds: float, reason: str) -> None:
        with self._lock:
            if time.monotonic() >= self._avoid_until:
                log.warning("reads go to the primary for %.1f s: %s", seconds, reason)
            self._avoid_until = time.monotonic() + seconds
            self.reason = reason

    def _replica_connection(self) -> Connection[dict] | None:
        """A checked-out replica connection fit for reads now, or None (use the primary)."""
        if self.replica is None or time.monotonic() < self._avoid_until:
            return None
        try:
            conn = self.replica.getconn(timeout=CHECKOUT_S)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._avoid(self.retry_s, f"the replica is unreachable ({exc.__class__.__name__})")
            return None
        now = time.monotonic()
        if now - self._checked_at < LAG_CHECK_S:
            return conn
        try:
            problem = lag_problem(conn, self.max_lag_s)
            conn.rollback()  # the request starts its own transaction
        except psycopg.Error as exc:
            problem = f"the replica failed its check ({exc.__class__.__name__})", False
        if problem is None:
            self._checked_at = now
            return conn
        self.replica.putconn(conn)  # the pool rolls back or discards a broken one
        reason, only_lag = problem
        self._avoid(LAG_CHECK_S if only_lag else self.retry_s, reason)
        return None

    @contextmanager
    def connection(self) -> Iterator[tuple[Connection[dict], bool]]:
        """(connection, on the replica?) for one request: committed on success, else rolled back."""
        conn = self._replica_connection()
        if conn is None or self.replica is None:
            self.primary_reads += 1
            with self.primary.connection() as primary:
                yield primary, False
            return
        self.replica_reads += 1
        try:
            with conn:  # a pooled connection: commit / rollback, not close
                yield conn, True
        except psycopg.OperationalError as exc:
            # a timeout is the query's fault; anything else (e.g. the replica stopped mid-request)
            # is the replica's: this request fails (503), the following ones go to the primary
            if not isinstance(exc, psycopg.errors.QueryCanceled):
                self._avoid(self.retry_s, f"the replica failed a read ({exc.__class__.__name__})")
            raise
        finally:
            self.replica.putconn(conn)

    @contextmanager
    def spare(self, on_replica: bool) -> Iterator[Connection[dict] | None]:
        """A second connection for one request's read that can run in parts at once (a trend's
        buckets, api/services/evaluation/buckets.py), from the pool its first came from; None
        when none is free at once (SPARE_S), or taking it would leave less than SPARE_RESERVE of
        the pool for other requests. Rolled back when given back: it only reads."""
        pool = self.replica if on_replica and self.replica is not None else self.primary
        if not can_spare(pool):
            yield None
            return
        try:
            conn = pool.getconn(timeout=SPARE_S)
        except (PoolTimeout, psycopg.OperationalError):
            yield None
            return
        try:
            yield conn
        finally:
            pool.putconn(conn)  # the pool rolls back what is left open, or discards a broken one

    def close(self) -> None:
        """Close the replica's pool (the primary's belongs to the app)."""
        if self.replica is not None:
            self.replica.close()


def open_read_pool(
    settings: DatabaseSettings, primary: ConnectionPool[Connection[dict]]
) -> ReadPool:
    """The app's ReadPool: the replica's pool when GRIDGOV_READ_DATABASE_URL is set."""
    replica = None
    if settings.read_database_url:
        # not waited for: the app starts (reads on the primary) while the replica is down; a
        # short reconnect_timeout restarts the pool's backoff, so a replica back up is used again
        # within seconds instead of after a doubling delay of minutes
        replica = open_pool(
            settings,
            url=libpq_url(settings.read_database_url),
            name="gridgov-read",
            wait=False,
            reconnect_timeout=10.0,
        )
    return ReadPool(primary, replica, settings.read_max_lag_s, settings.read_retry_s)
