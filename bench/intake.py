"""Report intake and locate under concurrency: a load generator process against the server.

For each client count, `python -m bench.loadgen` runs as its own process (closed loop, keep-alive)
against, in turn, the reference endpoint (bench/app.py: validate + INSERT one row) and
POST /api/v1/incidents; then GET /api/v1/locate. Server: bench.app under uvicorn with N workers.
Each run also reports the CPU one request cost in the load generator, the server's processes and
PostgreSQL's (bench/cpu.py), which is what the throughput ratio comes down to once the cores are
busy: table 2b.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from rich.table import Table

from bench.common import console
from bench.servers import Server


def load(
    server: Server,
    kind: str,
    clients: int,
    seconds: float,
    warmup: float,
    postgres: int | None = None,
) -> dict[str, Any]:
    """One load-generator run in a subprocess; its JSON result. `postgres`: the postmaster's pid,
    when PostgreSQL runs on this machine, to count its CPU too."""
    cmd = [sys.executable, "-m", "bench.loadgen", server.base, "--kind", kind]
    cmd += ["--cpu-of", f"server={server.pid}"]
    if postgres:
        cmd += ["--cpu-of", f"postgres={postgres}"]
    cmd += ["--clients", str(clients), "--seconds", str(seconds), "--warmup", str(warmup)]
    # Fresh points per client count (1 → seeds 1000, 8 → 8000–8007, …): reports of one run do
    # not land on an earlier run's, which the duplicate search would find at 0 m. The reference
    # and intake runs of one count send the same points.
    cmd += ["--seed", str(1000 * clients)]
    with console.status(f"{kind}: {clients} clients for {warmup + seconds:.0f} s"):
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_intake(
    server: Server, clients: list[int], seconds: float, warmup: float, postgres: int | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(reference, GridGov) results per client count."""
    return [
        (
            load(server, "insert", n, seconds, warmup, postgres),
            load(server, "intake", n, seconds, warmup, postgres),
        )
        for n in clients
    ]


def run_locate(
    server: Server, clients: list[int], seconds: float, warmup: float, postgres: int | None = None
) -> list[dict[str, Any]]:
    """GET /api/v1/locate results per client count."""
    return [load(server, "locate", n, seconds, warmup, postgres) for n in clients]


def intake_table(rows: list[tuple[dict[str, Any], dict[str, Any]]], workers: int) -> Table:
    """Throughput and latency of intake next to the INSERT-only reference."""
    t = Table(
        title=f"2. Report intake: POST /api/v1/incidents vs INSERT-only reference "
        f"(uvicorn × {workers}, closed-loop clients)",
        title_justify="left",
    )
    t.add_column("clients", justify="right")
    for col in ("ref req/s", "ref p50", "ref p99", "GridGov req/s", "p50 ms", "p95 ms", "p99 ms"):
        t.add_column(col, justify="right")
    t.add_column("% of ref", justify="right")
    t.add_column("errors", justify="right")
    for ref, gg in rows:
        t.add_row(
            str(gg["clients"]),
            f"{ref['rps']:,.0f}",
            f"{ref['p50_ms']:.1f}",
            f"{ref['p99_ms']:.1f}",
            f"{gg['rps']:,.0f}",
            f"{gg['p50_ms']:.1f}",
            f"{gg['p95_ms']:.1f}",
            f"{gg['p99_ms']:.1f}",
            # a failing endpoint answers fast: no ratio when any request failed
            f"{100 * gg['rps'] / ref['rps']:.0f} %" if ref["rps"] and not gg["errors"] else "n/a",
            f"{ref['errors']}/{gg['errors']}",
        )
    return t


def cpu_table(rows: list[tuple[dict[str, Any], dict[str, Any]]], cores: int) -> Table:
    """CPU milliseconds per request by process, and the throughput that CPU allows on `cores`."""
    t = Table(
        title="2b. CPU per request (ms) in the timed window: load generator, server, PostgreSQL",
        title_justify="left",
    )
    t.add_column("clients", justify="right")
    t.add_column("endpoint")
    for col in ("load generator", "server", "PostgreSQL", "sum", f"{cores} cores ÷ sum"):
        t.add_column(col, justify="right")
    t.add_column("measured req/s", justify="right")
    for pair in rows:
        for r, label in zip(pair, ("reference", "GridGov"), strict=True):
            cpu = r.get("cpu_ms", {})
            parts = [cpu.get(k) for k in ("loadgen", "server", "postgres")]
            total = sum(p for p in parts if p is not None)
            t.add_row(
                str(r["clients"]),
                label,
                *("-" if p is None else f"{p:.2f}" for p in parts),
                f"{total:.2f}",
                f"{1000 * cores / total:,.0f} req/s" if total else "-",
                f"{r['rps']:,.0f}",
            )
    return t


def locate_table(rows: list[dict[str, Any]], grids: int, buildings: int) -> Table:
    """Lookups per second at each client count."""
    t = Table(
        title=f"3. Locate: GET /api/v1/locate, {grids:,} grids, {buildings:,} buildings",
        title_justify="left",
    )
    t.add_column("clients", justify="right")
    for col in ("lookups/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            str(r["clients"]),
            f"{r['rps']:,.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            str(r["errors"]),
        )
    return t
