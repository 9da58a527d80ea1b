"""The coverage fold in the background: each app process, every GRIDGOV_PATROL_FOLD_S.

One fold runs at a time over all processes (an advisory lock; a process finding it taken skips
its turn). A turn folds every marked piece, a transaction per FOLD_PIECES, on a connection of
the app's pool held only for the turn, with the long statement timeout of the CLI (a day of
backlog after an outage is folded in pieces, each well under it).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from psycopg_pool import ConnectionPool

from api.services.background import Background, long_statements
from api.services.patrols.coverage import fold, retention_cutoff
from api.settings import Settings

log = logging.getLogger("gridgov.patrols")


class CoverageFolder(Background):
    """A daemon thread folding marked pieces until stopped."""

    thread_name = "gridgov-coverage"

    def __init__(self, settings: Settings, pool: ConnectionPool[Any]) -> None:
        self.settings = settings
        self.pool = pool
        super().__init__()

    def turn(self) -> int:
        """Fold what is marked now; the pieces taken (0 when another process is folding)."""
        s = self.settings
        since = retention_cutoff(s, dt.datetime.now(dt.UTC))
        taken = 0
        # each fold is its own transaction
        with long_statements(self.pool, s, autocommit=True) as conn:
            while not self._stop.is_set():
                out = fold(conn, s, wait=False, since=since)
                taken += out["pieces"]
                if out["busy"] or out["pieces"] == 0:
                    break
        return taken

    def _loop(self) -> None:
        self._turns(self.settings.patrols.patrol_fold_s, log, "coverage fold")
