"""CPU time of process trees, from /proc: what one request costs in each process of a benchmark.

A closed-loop benchmark on one machine shares its cores between the load generator, the server
and PostgreSQL. Once the cores are busy, throughput is cores ÷ (CPU per request, summed over all
three), so a ratio of two endpoints' throughputs is the inverse ratio of their summed CPU. The
load generator samples these counters at the start and end of its timed window
(`python -m bench.loadgen --cpu-of NAME=PID`) and reports milliseconds per request for each.
Every benchmark reads a tree the one way, `tree_cpu_total`: its processes' own CPU and that of
their children that exited meanwhile (PostgreSQL's parallel workers, closed backends), so that
the difference of two readings is what the tree used in between.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn --workers and the postmaster fork children)."""
    pids = [pid]
    for p in pids:
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    pids.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return pids


def _stat_seconds(pid: int, fields_at: tuple[int, ...]) -> float:
    """The sum of CPU fields of /proc/PID/stat (after the command name), in seconds; 0 once the
    process has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in fields_at) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (its threads included); 0 once it has gone."""
    return _stat_seconds(pid, (11, 12))  # utime, stime (fields 14, 15)


def cpu_with_children(pid: int) -> float:
    """User + system CPU of one process and of its children that exited and were waited for
    (cutime, cstime); 0 once it has gone."""
    return _stat_seconds(pid, (11, 12, 13, 14))  # fields 14–17


def tree_cpu_total(pid: int) -> float:
    """CPU a process tree has used so far, its exited children included: the difference of two
    readings is what it used in between, even where processes came and went (PostgreSQL's
    parallel workers live for one statement; the postmaster waits for each)."""
    return sum(cpu_with_children(p) for p in process_tree(pid))


@dataclass(frozen=True)
class Cpu:
    """The app's top process and the database's postmaster (None: not on this machine), whose
    trees' CPU a benchmark reads before and after what it measures."""

    app: int
    db: int | None

    def now(self) -> tuple[float, float | None]:
        """CPU seconds so far: the app's tree, the database's (None: not measured)."""
        return tree_cpu_total(self.app), None if self.db is None else tree_cpu_total(self.db)

    def since(self, before: tuple[float, float | None]) -> tuple[float, float | None]:
        """CPU seconds used since `before` (a `now()`): the app's, the database's."""
        app, db = self.now()
        return app - before[0], None if db is None or before[1] is None else db - before[1]


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server process behind `url` when it runs on this machine and /proc shows
    it (the parent of a backend), else None."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            # read while the backend lives: it exits as soon as the connection closes
            with open(f"/proc/{row[0]}/status") as f:
                ppid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
        with open(f"/proc/{ppid}/stat"):
            return ppid
    except (OSError, psycopg.Error, StopIteration):
        return None
