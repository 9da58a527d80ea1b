"""The settings of the evaluation's statements, for their block only (`local_settings`)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from psycopg import Connection

from api.db.session import local_settings

STATS_WORK_MEM = "128MB"


def evaluation_settings(conn: Connection[Any]) -> AbstractContextManager[None]:
    """The settings of an evaluation statement, for the block (`local_settings`): no JIT
    (compiling this many expressions costs more than it saves: 20 s → 5 s at 100,000 incidents
    on 2 busy cores); a year's handling times (≈ 820,000 at 1,000,000 incidents) sorted in
    memory, not on disk; plans for this period's bounds, not the pool's generic ones
    (docs/performance.md, 2026-12-05 afternoon); and `enable_nestloop` as `log_path_config`
    may set it, put back too."""
    return local_settings(
        conn, jit="off", work_mem=STATS_WORK_MEM, plan_cache_mode="auto", enable_nestloop=None
    )


def log_path_config(conn: Connection[Any], live: int) -> None:
    """With more than 50 incidents (or pairs) read from their log: no nested loops (within an
    `evaluation_settings` block, which puts it back). The
    estimates of the log path's joins of CTEs are far too low, and nested loops over CTE scans
    would compare every pair (1 s a month at 100,000 incidents)."""
    if live > 50:
        conn.execute("SELECT set_config('enable_nestloop', 'off', true)")
