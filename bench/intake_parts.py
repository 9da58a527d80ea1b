"""Where a report's cost goes, without HTTP: each part of intake on one pooled connection.

    .venv/bin/python -m bench.intake_parts          # own throwaway cluster + the bench dataset
    .venv/bin/python -m bench --only intake         # also printed there, as table 2c

Each row runs its statement(s) N times, one transaction each (as a request does), on a
connection from the app's own pool (`api.db.session.open_pool`: the same generic plans, parse
cache and JSON loader), after a warm-up. Timed per call: wall time, this process's CPU (Python +
psycopg) and the CPU of the PostgreSQL backend serving the connection (`/proc`). Every call gets a
fresh random point and category from the same generator as the load generator.

The rows are nested: the reference's INSERT is what `POST /bench/insert` does below HTTP; the
assignment statement is intake's first statement alone; `report_incident` is the whole service
(assignment, incident + event INSERT with duplicate search, response document). What HTTP,
FastAPI and the load generator add on top is in table 2b.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from rich.table import Table

from api.db.session import open_pool
from api.schemas.incidents import IncidentIn
from api.services.intake import report as intake
from api.settings import DatabaseSettings, Settings
from bench.app import TABLE_SQL, insert_reference
from bench.common import bench_database, console
from bench.cpu import cpu_seconds
from bench.dataset import build_dataset
from bench.loadgen import request_for


@dataclass
class Part:
    """Per-call averages of one row, in milliseconds."""

    label: str
    wall_ms: float
    python_ms: float
    backend_ms: float


def measure(
    conn: psycopg.Connection[Any],
    label: str,
    call: Callable[[IncidentIn], None],
    bodies: list[IncidentIn],
    warmup: int,
) -> Part:
    """Run `call` once per body, committing each; averages of the timed (non-warm-up) calls."""
    row = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert row is not None
    backend = int(row["pid"])
    conn.commit()
    for body in bodies[:warmup]:
        call(body)
        conn.commit()
    timed = bodies[warmup:]
    wall0, py0, pg0 = time.perf_counter(), time.process_time(), cpu_seconds(backend)
    for body in timed:
        call(body)
        conn.commit()
    n = len(timed)
    return Part(
        label,
        1000 * (time.perf_counter() - wall0) / n,
        1000 * (time.process_time() - py0) / n,
        1000 * (cpu_seconds(backend) - pg0) / n,
    )


def run_parts(url: str, calls: int = 1000, warmup: int = 100, seed: int = 424242) -> list[Part]:
    """The three rows, interleaved twice (ABCABC) so drift on a shared machine hits each alike."""
    settings = Settings()
    rng = random.Random(seed)

    def body() -> IncidentIn:
        return IncidentIn.model_validate(request_for("intake", rng)[2]["json"])

    pool = open_pool(DatabaseSettings(database_url=url, pool_min=1, pool_max=1))
    try:
        with pool.connection() as conn:
            conn.execute(TABLE_SQL)
            conn.commit()

            def reference(report: IncidentIn) -> None:
                insert_reference(conn, report)

            def assignment(report: IncidentIn) -> None:
                lon, lat, _crs = report.xy_crs()
                params = intake.intake_assign_params(settings, report.category, lon, lat)
                conn.execute(intake.INTAKE_ASSIGN_SQL, params, prepare=True).fetchone()

            def report(report: IncidentIn) -> None:
                intake.report_incident(conn, settings, report, user=None, idempotency_key=None)

            rows = [
                ("reference: INSERT one row (POST /bench/insert's statement)", reference),
                ("intake's assignment statement alone", assignment),
                ("report_incident(): assignment + INSERT + document", report),
            ]
            parts: dict[str, list[Part]] = {label: [] for label, _ in rows}
            for _round in range(2):
                for label, call in rows:
                    bodies = [body() for _ in range(warmup + calls // 2)]
                    parts[label].append(measure(conn, label, call, bodies, warmup))
    finally:
        pool.close()
    return [
        Part(
            label,
            sum(p.wall_ms for p in runs) / len(runs),
            sum(p.python_ms for p in runs) / len(runs),
            sum(p.backend_ms for p in runs) / len(runs),
        )
        for label, runs in parts.items()
    ]


def parts_table(parts: list[Part], calls: int) -> Table:
    """Per-call wall time and CPU of each part."""
    t = Table(
        title=f"2c. Intake's parts without HTTP: {calls:,} calls each, one transaction per call, "
        "one pooled connection",
        title_justify="left",
    )
    t.add_column("part")
    for col in ("wall ms", "Python CPU ms", "PostgreSQL CPU ms", "CPU sum ms"):
        t.add_column(col, justify="right")
    for p in parts:
        t.add_row(
            p.label,
            f"{p.wall_ms:.2f}",
            f"{p.python_ms:.2f}",
            f"{p.backend_ms:.2f}",
            f"{p.python_ms + p.backend_ms:.2f}",
        )
    return t


def main(argv: list[str] | None = None) -> int:
    """Own database with the bench dataset, then the table."""
    p = argparse.ArgumentParser(prog="python -m bench.intake_parts", description=__doc__)
    p.add_argument("--calls", type=int, default=1000, help="timed calls per row (default 1,000)")
    a = p.parse_args(argv)
    with bench_database() as url:
        with psycopg.connect(url, autocommit=True) as conn, console.status("generating data"):
            build_dataset(conn, buildings_per_grid=10, incidents=10_000)
        console.print(parts_table(run_parts(url, a.calls), a.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
