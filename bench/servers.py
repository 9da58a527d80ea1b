"""Server processes for the HTTP benchmarks (GridGov's bench app, tipg) and their memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import free_port, server_env, server_process
from bench.cpu import process_tree

TIPG_VENV = Path(os.environ.get("GRIDGOV_BENCH_TIPG_VENV", "/tmp/tipg-venv"))


@dataclass
class Server:
    """A running server: its base URL and the pid of its top process."""

    base: str
    pid: int
    label: str


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(server: Server) -> tuple[float, float, int]:
    """(sum of VmHWM over the process tree, largest single VmHWM, process count), in MB.

    VmHWM is each process's own peak resident set since it started; the sum is an upper bound of
    the tree's peak (the processes need not peak together) and counts shared pages once per process.
    """
    peaks = [_status_kb(p, "VmHWM") for p in process_tree(server.pid)]
    return sum(peaks) / 1024, max(peaks, default=0) / 1024, len(peaks)


@contextmanager
def _process(
    cmd: list[str], env: dict[str, str], port: int, health: str, label: str
) -> Iterator[Server]:
    with server_process(cmd, env, port, health, label) as (base, pid):
        yield Server(base, pid, label)


@contextmanager
def gridgov_server(url: str, workers: int) -> Iterator[Server]:
    """GridGov's app plus the reference endpoint (bench/app.py) under uvicorn, N workers."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.app:bench_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    env = server_env(url)
    with _process(cmd, env, port, "/healthz", f"GridGov, uvicorn × {workers}") as server:
        yield server


def tipg_available() -> str | None:
    """None when the tipg venv is usable, else why not."""
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        return f"no tipg venv at {TIPG_VENV} (python -m bench.tiles --install-tipg makes one)"
    probe = subprocess.run(
        [str(TIPG_VENV / "bin" / "python"), "-c", "import tipg.main"], capture_output=True
    )
    if probe.returncode != 0:
        return "tipg does not import: " + probe.stderr.decode()[-300:]
    return None


def install_tipg() -> str | None:
    """Make the separate venv for tipg (pip from PyPI); None on success, else the error tail."""
    if tipg_available() is None:
        return None
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    pip = subprocess.run(
        [str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"], capture_output=True
    )
    if pip.returncode != 0:
        return pip.stderr.decode()[-500:]
    return tipg_available()


@contextmanager
def tipg_server(url: str, workers: int, tables: list[str]) -> Iterator[Server]:
    """tipg (its own venv) on the same database, publishing `tables`, N uvicorn workers."""
    port = free_port()
    cmd = [str(TIPG_VENV / "bin" / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    cmd += ["--no-access-log"]
    env = {
        **os.environ,
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": str(tables).replace("'", '"'),
        "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public", "pg_catalog", "information_schema"]',
        "TIPG_MAX_FEATURES_PER_TILE": "10000",
    }
    with _process(cmd, env, port, "/healthz", f"tipg, uvicorn × {workers}") as server:
        yield server
