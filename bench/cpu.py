"""CPU time of process trees, from /proc: what one request costs in each process of a benchmark.

A closed-loop benchmark on one machine shares its cores between the load generator, the server
and PostgreSQL. Once the cores are busy, throughput is cores ÷ (CPU per request, summed over all
three), so a ratio of two endpoints' throughputs is the inverse ratio of their summed CPU. The
load generator samples these counters at the start and end of its timed window
(`python -m bench.loadgen --cpu-of NAME=PID`) and reports milliseconds per request for each.
"""

from __future__ import annotations

import os

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


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process tree as it is now (processes that already exited are not counted)."""
    return sum(cpu_seconds(p) for p in process_tree(pid))


def tree_cpu_by_pid(pid: int) -> dict[int, float]:
    """CPU of each process of a tree as it is now, by pid."""
    return {p: cpu_seconds(p) for p in process_tree(pid)}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU a tree used between two tree_cpu_by_pid snapshots: each process's own increase. One
    that started in between counts whole; one that exited in between (a closed connection's
    backend) counts nothing, where a difference of sums would subtract its whole past."""
    return sum(cpu - before.get(p, 0.0) for p, cpu in after.items() if cpu)


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
