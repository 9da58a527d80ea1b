"""What every benchmark needs: a throwaway database, the real app in a subprocess, statistics."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from api.db.embedded import EmbeddedCluster
from api.db.migrate import upgrade

# Piped into a file, rich would wrap tables at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 110)

# System Chromium, headless, quiet: the page benchmarks and the page tests (tests/test_pages.py).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LocalOnly:
    """A Playwright route handler (`page.route("**/*", LocalOnly())`): lets 127.0.0.1, data:
    and blob: through, aborts everything else and keeps its URL in `foreign`; counts requests."""

    def __init__(self) -> None:
        self.foreign: list[str] = []
        self.count = 0

    def __call__(self, r: object) -> None:
        req = r.request  # type: ignore[attr-defined]
        self.count += 1
        if req.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()  # type: ignore[attr-defined]
        else:
            self.foreign.append(req.url)
            r.abort()  # type: ignore[attr-defined]


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def bench_database() -> Iterator[str]:
    """URL of a fresh, migrated database that is thrown away afterwards.

    With GRIDGOV_DATABASE_URL set, a database `gridgov_bench_<pid>` is created on that server and
    dropped at the end; otherwise a whole embedded cluster (fsync off) is started and destroyed.
    """
    server = os.environ.get("GRIDGOV_DATABASE_URL")
    if server:
        name = f"gridgov_bench_{os.getpid()}"
        admin = with_database(server, "postgres")
        ident = sql.Identifier(name)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        try:
            url = with_database(server, name)
            upgrade(url)
            console.print(f"[dim]database {name} on GRIDGOV_DATABASE_URL's server[/]")
            yield url
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        return

    home = Path(tempfile.mkdtemp(prefix="gridgov-bench-"))
    home.chmod(0o755)  # as root the cluster runs as 'postgres', which must reach this directory
    cluster = EmbeddedCluster(home=home, port=free_port(), dbname="gridgov_bench", durable=False)
    try:
        with console.status("starting a throwaway PostgreSQL cluster"):
            url = cluster.up()
            upgrade(url)
        where = f"port {cluster.port}, data in {cluster.data_dir}"
        console.print(f"[dim]throwaway cluster on {where}[/]")
        yield url
    finally:
        cluster.destroy()


def server_env(url: str) -> dict[str, str]:
    """Environment of a benchmark server process on the database at `url`."""
    # A load generator is one client address sending far more than the public-report rate
    # limit allows; the benchmark measures intake, not the limiter, so the limiter is off.
    # The trend warmer is off too: its first turn computes every department's, street's and
    # district's 30 days (about a minute at 1,000,000 cases), and the reads timed meanwhile
    # would measure that work, not their own (bench/scale.py times trends with nothing kept).
    return {
        **os.environ,
        "GRIDGOV_DATABASE_URL": url,
        "GRIDGOV_REPORT_PER_MINUTE": "0",
        "GRIDGOV_TREND_WARM_S": "0",
    }


@contextmanager
def server_process(
    cmd: list[str], env: dict[str, str], port: int, health: str, label: str
) -> Iterator[tuple[str, int]]:
    """Start a server process, wait until `health` answers 200; yields (base URL, pid)."""
    log = tempfile.NamedTemporaryFile(prefix="gridgov-bench-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited ({proc.returncode}); see {log.name}")
            try:
                if httpx.get(base + health, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not answer {health} in 90 s; see {log.name}")
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


@contextmanager
def app_server(url: str) -> Iterator[str]:
    """Run `gridgov serve` on a free port against `url`; yields the base URL."""
    port = free_port()
    gridgov = Path(sys.executable).parent / "gridgov"
    if gridgov.exists():
        cmd = [str(gridgov), "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory"]
        cmd += ["--port", str(port)]
    with server_process(cmd, server_env(url), port, "/healthz", "the app") as (base, _pid):
        yield base


@dataclass
class Latency:
    """Per-call wall times of one sequential run."""

    label: str
    samples_s: list[float]
    wall_s: float
    errors: int = 0
    # CPU of the run, seconds: the app's processes and the database's (None: not measured)
    cpu_s: tuple[float, float | None] | None = None

    def row(self) -> list[str]:
        """Cells for a latency table: n, p50, p95, p99, mean, max (ms), calls/s, errors."""
        ms = np.asarray(self.samples_s) * 1000.0
        p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (np.nan,) * 3
        return [
            self.label,
            f"{len(ms):,}",
            f"{p50:.2f}",
            f"{p95:.2f}",
            f"{p99:.2f}",
            f"{ms.mean():.2f}" if len(ms) else "-",
            f"{ms.max():.1f}" if len(ms) else "-",
            f"{len(ms) / self.wall_s:,.0f}" if self.wall_s else "-",
            str(self.errors),
        ]

    def cpu_cell(self) -> str:
        """CPU per call, ms: app + database (what a call costs in cores)."""
        if self.cpu_s is None or not self.samples_s:
            return "-"
        app, db = (x * 1000.0 / len(self.samples_s) if x is not None else None for x in self.cpu_s)
        assert app is not None
        return f"{app:.0f} + {db:.0f}" if db is not None else f"{app:.0f} + ?"


def latency_table(title: str, runs: list[Latency]) -> Table:
    """A rich table of latency percentiles and throughput."""
    table = Table(title=title, title_justify="left")
    table.add_column("call")
    for name in ("n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "calls/s", "errors"):
        table.add_column(name, justify="right")
    cpu = any(run.cpu_s is not None for run in runs)
    if cpu:
        table.add_column("CPU ms/call app + db", justify="right")
    for run in runs:
        table.add_row(*run.row(), *([run.cpu_cell()] if cpu else []))
    return table


def machine_line(url: str) -> str:
    """Where the figures come from: CPUs, versions, memory settings and the load right now."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), postgis_lib_version(), "
            "current_setting('shared_buffers'), current_setting('work_mem')"
        ).fetchone()
    assert row is not None
    pg, postgis, shared, work = row
    cpu = platform.processor() or platform.machine()
    return (
        f"{dt.date.today().isoformat()} · {os.cpu_count()} cores ({cpu}) · "
        f"Python {platform.python_version()} · PostgreSQL {pg} · PostGIS {postgis} · "
        f"shared_buffers {shared}, work_mem {work} · load average {os.getloadavg()[0]:.2f}"
    )
