"""The large groups' trends kept warm in the background: each app process, every
GRIDGOV_TREND_WARM_S, when the day or the kept buckets' generation has changed.

A trend computes the past buckets it has not kept (bucket_cache); for a department, a street
or the district that is 0.4–5 s at 1,000,000 cases (docs/performance.md), so the first reader of
the day — or the first after a back-dated write or a boundary edit — would wait for it. A turn
reads, as each of its readers would, the last WARM_DAYS days by day of every department (as an
admin and as its own staff), every street and district (as an admin and as their dispatchers):
afterwards each of those trends is read from kept buckets but for the current day. Grids,
communities and categories are fast without it.

One warmer runs at a time over all processes (an advisory lock; a process finding it taken skips
its turn), on a connection of the app's pool held only for the turn, under the long statement
timeout of the CLI.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from api.services.background import Background, long_statements
from api.services.evaluation.bucket_cache import forget_old
from api.services.evaluation.flags import trend
from api.services.evaluation.stats import Period
from api.services.identity.auth import User
from api.settings import Settings

log = logging.getLogger("gridgov.evaluation")

WARM_DAYS = 30  # the stats page's default period (its trend is by day)
LOCK = 0x67677472  # pg_try_advisory_lock key of the warmer ("ggtr")

_GROUPS_SQL = """
SELECT 'department' AS group_by, NULL AS level, code FROM departments
UNION ALL
SELECT 'area', level, code FROM areas
WHERE level IN ('street', 'district') AND valid_to IS NULL
ORDER BY 1, 2, 3
"""


def readers(conn: Connection[Any]) -> list[tuple[User, tuple[str, str | None, str]]]:
    """Who reads which large group's trend: an admin every one, a department's staff their
    own, a street's or district's dispatcher their own area."""
    out: list[tuple[User, tuple[str, str | None, str]]] = []
    admin = User(id=0, name="trend-warmer", role="admin", area_code=None, department_code=None)
    with conn.cursor(row_factory=dict_row) as cur:
        for g in cur.execute(_GROUPS_SQL).fetchall():
            group = (g["group_by"], g["level"], g["code"])
            own = (
                User(0, "trend-warmer", "department", None, g["code"])
                if g["group_by"] == "department"
                else User(0, "trend-warmer", "dispatcher", g["code"], None)
            )
            out += [(admin, group), (own, group)]
    return out


def warm(conn: Connection[Any], now: dt.datetime, tz: ZoneInfo) -> int:
    """Forget the buckets kept over bucket_cache.FORGET_AFTER ago, then read every large
    group's trend of the last WARM_DAYS days by day once (keeping what it computes); the trends
    read."""
    forget_old(conn)
    conn.commit()
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    period = Period(today - dt.timedelta(days=WARM_DAYS), now, now, tz)
    done = 0
    for user, group in readers(conn):
        trend(conn, user, period, group, "day", None)
        conn.commit()  # what it kept, at once: readers need not wait for the whole turn
        done += 1
    return done


class TrendWarmer(Background):
    """A daemon thread warming the large groups' trends when the day or generation changes."""

    thread_name = "gridgov-trend-warmer"

    def __init__(self, settings: Settings, pool: ConnectionPool[Any]) -> None:
        self.settings = settings
        self.pool = pool
        self.warmed: tuple[int, dt.date] | None = None  # (generation, local day) of the last
        super().__init__()

    def turn(self) -> int:
        """Warm if the generation or the day changed since the last turn (0 when another
        process holds the lock or nothing changed); the trends read."""
        tz = ZoneInfo(self.settings.calendar.timezone)
        now = dt.datetime.now(dt.UTC)
        with long_statements(self.pool, self.settings) as conn:
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(
                    "SELECT pg_try_advisory_lock(%s) AS mine, "
                    "(SELECT generation FROM eval_stale) AS generation",
                    (LOCK,),
                ).fetchone()
            conn.commit()
            assert row is not None
            mine, state = row["mine"], (row["generation"], now.astimezone(tz).date())
            if not mine:
                return 0
            try:
                if state == self.warmed:
                    return 0
                done = warm(conn, now, tz)
                self.warmed = state
                return done
            finally:
                conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
                conn.commit()

    def _loop(self) -> None:
        self._turns(self.settings.evaluation.trend_warm_s, log, "trend warmer")
