"""The evaluation's statement settings end with its statements, also inside a request's open
transaction (where set_config(…, true) would last to the transaction's end): the queries a
request makes after a trend's (its 督办 / 回访 counts, 62 for 31 days) ran with nested loops
off, each planning a hash join over every incident."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.db.session import local_settings
from api.services.evaluation.buckets import bucket_rows
from api.services.evaluation.live_sets import live_of_ends
from api.services.evaluation.query import Over, stats_rows
from api.services.evaluation.statement import log_path_config

NAMES = ("jit", "work_mem", "plan_cache_mode", "enable_nestloop")
T0 = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)


def settings(conn: Any) -> dict[str, str]:
    return {n: conn.execute("SELECT current_setting(%s) AS v", (n,)).fetchone()["v"] for n in NAMES}


def test_evaluation_settings_end_with_its_statements(world_db: str) -> None:
    opts = "-c plan_cache_mode=force_generic_plan -c jit=on -c work_mem=4MB"
    with psycopg.connect(world_db, row_factory=dict_row, options=opts) as conn:
        conn.execute("SELECT 1")  # a request's transaction, open
        before = settings(conn)
        assert before == {
            "jit": "on",
            "work_mem": "4MB",
            "plan_cache_mode": "force_generic_plan",
            "enable_nestloop": "on",
        }
        with local_settings(conn, work_mem="64MB", enable_nestloop=None):
            log_path_config(conn, 1000)  # set within the block: put back as well
            assert settings(conn)["work_mem"] == "64MB"
            assert settings(conn)["enable_nestloop"] == "off"
        assert settings(conn) == before
        over = Over(T0, T0 + dt.timedelta(days=1), "department", None, None, None)
        stats_rows(conn, over)
        assert settings(conn) == before
        ends = [T0 + dt.timedelta(days=d) for d in (1, 2)]
        live = live_of_ends(conn, ends, "department", None, "WATER")
        assert settings(conn) == before
        overs = [Over(a - dt.timedelta(days=1), a, "department", None, None, None) for a in ends]
        bucket_rows(conn, overs, "WATER", [live[e] for e in ends])
        assert settings(conn) == before
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
