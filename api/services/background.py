"""A daemon thread of an app process doing periodic work until the process stops.

Subclasses say what one thread does in `_loop`, which runs until `self._stop` is set
(the notification outbox, api/services/notifications/worker.py; the patrol coverage fold,
api/services/patrols/folder.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Connection
from psycopg_pool import ConnectionPool

from api.db.session import reset_timeouts, use_long_timeouts
from api.settings import Settings


@contextmanager
def long_statements(
    pool: ConnectionPool[Any], settings: Settings, *, autocommit: bool = False
) -> Iterator[Connection[Any]]:
    """A connection of the app's pool for one turn of background work, under the long statement
    timeout of the CLI (GRIDGOV_LONG_STATEMENT_TIMEOUT_MS), which also bounds how long it may
    sit idle in a transaction, until it goes back with the pool's."""
    with pool.connection() as conn:
        conn.autocommit = autocommit
        use_long_timeouts(conn, settings.db.long_statement_timeout_ms, local=False)
        try:
            yield conn
        finally:
            conn.rollback()  # what the turn left open (it commits what it keeps)
            reset_timeouts(conn)  # the pool's (connection options)
            conn.commit()  # or the pool's rollback would undo the RESET
            conn.autocommit = False


class Background:
    """A daemon thread running `_loop` from `start` until `stop`."""

    thread_name = "gridgov-background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to finish what it is doing and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        raise NotImplementedError

    def turn(self) -> object:
        """One round of the periodic work (for `_turns`)."""
        raise NotImplementedError

    def _turns(self, pause: float, log: logging.Logger, what: str) -> None:
        """`turn` every `pause` seconds until stopped. A database error (a restart) or any
        other fault of one turn (logged with its traceback) never ends the thread: what it keeps
        current would silently stop being kept until the process restarts."""
        while not self._stop.wait(pause):
            try:
                self.turn()
            except psycopg.Error as exc:
                log.warning("%s: %s", what, exc)
            except Exception:
                log.exception("%s failed; trying again next turn", what)
