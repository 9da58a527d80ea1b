"""The benchmark scripts still measure the real app: they run here at toy sizes.

No figure is checked (bench/ prints figures, and time is not asserted anywhere); what is checked is
that each script does what its table says: the load generator sends real reports and reads CPU
from /proc, and the intake breakdown runs the real service on the bench dataset.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bench import loadgen
from bench.cpu import cpu_seconds, postmaster_pid, process_tree, tree_cpu_total
from bench.dataset import build_dataset
from bench.intake_parts import parts_table, run_parts
from bench.servers import gridgov_server


@pytest.fixture
def bench_db(empty_db: str) -> str:
    """A database holding the benchmark's synthetic district (10,000 grids) and a few incidents."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        build_dataset(conn, buildings_per_grid=1, incidents=50)
    return empty_db


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_intake_parts_runs_the_real_service(bench_db: str) -> None:
    before = count(bench_db, "incidents")
    parts = run_parts(bench_db, calls=20, warmup=5)
    assert [p.label.split(":")[0] for p in parts] == [
        "reference",
        "intake's assignment statement alone",
        "report_incident()",
    ]
    assert all(p.wall_ms > 0 and p.python_ms >= 0 and p.backend_ms >= 0 for p in parts)
    # two rounds of 5 warm-up + 10 timed calls each: every report_incident() call stored a report
    assert count(bench_db, "incidents") - before == 30
    assert count(bench_db, "bench_inserts") == 30
    assert parts_table(parts, 20).row_count == 3


def test_loadgen_sends_reports_and_reads_cpu(bench_db: str) -> None:
    before = count(bench_db, "incidents")
    postgres = postmaster_pid(bench_db)
    assert postgres is not None  # the test cluster runs on this machine
    assert len(process_tree(postgres)) > 1  # the postmaster and its backends
    with gridgov_server(bench_db, workers=1) as server:
        watch = {"server": server.pid, "postgres": postgres}
        result: dict[str, Any] = asyncio.run(
            loadgen.run(server.base, "intake", 2, seconds=1.0, warmup=0.2, seed=5, watch=watch)
        )
        assert tree_cpu_total(server.pid) > 0
    assert result["errors"] == 0
    assert result["requests"] > 0
    assert count(bench_db, "incidents") - before >= result["requests"]
    assert set(result["cpu_ms"]) == {"loadgen", "server", "postgres"}
    assert result["cpu_ms"]["server"] > 0 and result["cpu_ms"]["loadgen"] > 0


def test_a_trees_cpu_counts_the_children_that_came_and_went() -> None:
    """A run's CPU is read before and after it (bench scale): a child that started and exited
    in between (a PostgreSQL parallel worker) counts, as it would not in the live processes'."""

    def live() -> float:  # the processes there now, each its own CPU
        return sum(cpu_seconds(p) for p in process_tree(os.getpid()))

    before_total, before_live = tree_cpu_total(os.getpid()), live()
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)  # started, burned, exited, waited
    assert tree_cpu_total(os.getpid()) - before_total >= 0.3
    assert live() - before_live < 0.3
