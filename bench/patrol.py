"""`python -m bench patrol`: 大联勤 patrols at a city's scale, the three targets of issue 22.

    .venv/bin/python -m bench patrol                 # 5,000 officers, 10,000 grids (≈ 10 min)
    .venv/bin/python -m bench patrol --quick         # 500 officers, short phases: checks it runs

In a throwaway cluster (or a fresh database on GRIDGOV_DATABASE_URL's server) it builds the
synthetic district of bench/synthetic.py (10,000 grids of ≈ 100 m), one grid officer per other
grid with a running patrol, and GridGov under uvicorn (2 workers) on this machine, then:

1. Ingest: every officer's phone sends its fixes (one every 10 s of walking, serpentine through
   its grid) in batches of --batch to POST /api/v1/patrols/{id}/points, --clients requests at a
   time, for --seconds; fixes stored per second, as the server acknowledged them, and the CPU
   per request of the server, PostgreSQL and this generator (/proc, bench/cpu.py) with the
   fixes/s their sum allows on free cores (other jobs on the machine do not inflate CPU time).
2. Live: meanwhile a few probe officers send one fix each 0.5 s and an admin follows
   GET /api/v1/patrols/live; the time from sending a batch to its `position` event.
3. Coverage: the rest of the day's walk (--hours per officer) is written in SQL, then the day's
   pieces are folded into the coverage figures from nothing (api.services.patrols.coverage.
   fold_all; in service the app folds them every minute as they come) and timed. The folded day
   is then copied to the 29 days before it, and periods of 1, 7 and 30 days by grid are read
   (period_rows, the figures behind /api/v1/patrols/coverage and /api/v1/stats).

Figures only: nothing is asserted. The load generator runs on the same 2 cores as the server
and PostgreSQL, so the ingest figure is a lower bound; it is kept lean for that (bench/rawhttp.py:
raw keep-alive connections, uploads serialised before the timed window), checks every answer is
2xx and, afterwards, that `patrol_fixes` holds as many fixes as the server acknowledged.
Officers and their patrols are made in SQL (not timed); docs/patrols.md keeps the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg.rows import dict_row
from rich.table import Table
from uvloop import new_event_loop

from api.services.identity.auth import TOKEN_PREFIX, hash_token
from api.services.patrols.coverage import fold_all, period_rows
from api.settings import Settings
from bench.common import bench_database, console, machine_line
from bench.cpu import postmaster_pid, tree_cpu_total
from bench.patrol_walk import FIX_S, Officer, bulk_day, make_officers, walk_point
from bench.rawhttp import Connection, request_bytes, stream_lines
from bench.servers import gridgov_server
from bench.synthetic import build_hierarchy

TARGETS = {"ingest": 2000.0, "coverage": 60.0, "live": 2.0}


@dataclass
class Run:
    fixes: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    sent: dict[tuple[int, str], float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # what the errors were
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the timed window


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench patrol", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="500 officers, short phases")
    p.add_argument("--officers", type=int, help="officers on patrol (default 5,000)")
    p.add_argument("--batch", type=int, default=6, help="fixes per upload (6: once a minute)")
    p.add_argument("--clients", type=int, default=24, help="uploads in flight at once")
    p.add_argument("--seconds", type=float, help="timed ingest (default 60; quick 10)")
    p.add_argument("--hours", type=float, help="walk per officer for coverage (default 4)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    p.add_argument(
        "--plan-rate",
        type=float,
        default=8000.0,
        help="fixes/s whose uploads are serialised before the timed window (beyond: on the fly)",
    )
    return p.parse_args(argv)


def batch_of(o: Officer, start: dt.datetime, n: int) -> tuple[list[dict[str, Any]], str]:
    """The officer's next `n` fixes (point ids f<step>) and the newest fix's time."""
    fixes = []
    for s in range(o.step, o.step + n):
        lon, lat = walk_point(o.i, o.j, s)
        at = (start + dt.timedelta(seconds=FIX_S * s)).isoformat()
        fixes.append({"id": f"f{s}", "t": at, "lon": lon, "lat": lat, "accuracy": 8.0})
    o.step += n
    return fixes, fixes[-1]["t"]


class Plan:
    """The uploads in turn order (officer 0, 1, …, n-1, 0, …), serialised before the timed window
    so that the generator spends its CPU on sending, not on building JSON; past the planned ones
    they are built on the fly (`late` counts them)."""

    def __init__(
        self, officers: list[Officer], start: dt.datetime, batch: int, host: str, count: int
    ) -> None:
        self.officers, self.start, self.batch, self.host = officers, start, batch, host
        self.sent = self.late = 0
        self.requests = [self._build(k) for k in range(count)]

    def _build(self, k: int) -> bytes:
        o = self.officers[k % len(self.officers)]
        fixes, _ = batch_of(o, self.start, self.batch)
        return upload_request(self.host, o, fixes)

    def next(self) -> bytes:
        k = self.sent
        self.sent += 1
        if k < len(self.requests):
            return self.requests[k]
        self.late += 1
        return self._build(k)

    def settle(self) -> None:
        """Each officer's step as far as its uploads were sent (the day's walk goes on there)."""
        n = len(self.officers)
        for k, o in enumerate(self.officers):
            o.step = (self.sent // n + (1 if k < self.sent % n else 0)) * self.batch
        self.requests = []


def upload_request(host: str, o: Officer, fixes: list[dict[str, Any]]) -> bytes:
    return request_bytes(
        "POST",
        host,
        f"/api/v1/patrols/{o.patrol}/points",
        {"Authorization": f"Bearer {o.token}", "Content-Type": "application/json"},
        orjson.dumps({"fixes": fixes}),
    )


async def upload(conn: Connection, request: bytes, run: Run) -> None:
    """Send one batch; the fixes the server says it stored count, any answer but 2xx is an error."""
    run.requests += 1
    try:
        answer = await conn.send(request)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        await conn.close()
        run.errors += 1
        run.failures.append(repr(exc))
        return
    if 200 <= answer.status < 300:
        run.fixes += int(orjson.loads(answer.body)["stored"])
    else:
        run.errors += 1
        run.failures.append(f"HTTP {answer.status}: {answer.body[:200]!r}")


async def follow(host: str, port: int, token: str, run: Run, ready: asyncio.Event) -> None:
    """The admin's live stream: when each probe batch's `position` event arrived."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    request = request_bytes("GET", host, "/api/v1/patrols/live", headers)
    async for line in stream_lines(host, port, request):
        if line.startswith(b"event:") and line[6:].strip() == b"positions":
            ready.set()
        if not line.startswith(b"data:") or not ready.is_set():
            continue
        data = orjson.loads(line[5:])
        if isinstance(data, dict):
            key = (int(data["patrol"]), dt.datetime.fromisoformat(data["at"]).isoformat())
            sent = run.sent.pop(key, None)
            if sent is not None:
                run.latencies.append(time.perf_counter() - sent)


async def load(
    base: str,
    plan: Plan,
    probes: list[Officer],
    admin: str,
    a: Any,
    start: dt.datetime,
    pids: dict[str, int],
) -> tuple[Run, float]:
    """Phases 1 and 2 together: ingest for a.seconds while probes measure the live stream.
    `pids`: the process trees (server, PostgreSQL) whose CPU the timed window is charged."""
    run = Run()
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    ready = asyncio.Event()
    follower = asyncio.create_task(follow(host, port, admin, run, ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([waiting, follower], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if follower.done():
        follower.result()  # its error
    if not ready.is_set():
        raise RuntimeError("the live stream sent no snapshot in 30 s")
    conns = [Connection(host, port) for _ in range(a.clients + 1)]
    cpu0 = {k: tree_cpu_total(pid) for k, pid in pids.items()} | {"generator": cpu_now()}
    t0 = time.perf_counter()
    deadline = t0 + a.seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            await upload(conn, plan.next(), run)

    async def prober(conn: Connection) -> None:
        for o in itertools.cycle(probes):
            if time.perf_counter() >= deadline:
                return
            fixes, at = batch_of(o, start, 1)
            request = upload_request(host, o, fixes)
            run.sent[(o.patrol, dt.datetime.fromisoformat(at).isoformat())] = time.perf_counter()
            await upload(conn, request, run)
            await asyncio.sleep(0.5)

    await asyncio.gather(*(worker(c) for c in conns[1:]), prober(conns[0]))
    elapsed = time.perf_counter() - t0
    cpu1 = {k: tree_cpu_total(pid) for k, pid in pids.items()} | {"generator": cpu_now()}
    run.cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    for c in conns:
        await c.close()
    await asyncio.sleep(2.5)  # the last probes' events
    follower.cancel()
    return run, elapsed


# The rest of the day's walk, written in SQL: officer o of cell (i, j) at steps s0..s1.
def period_reads(
    conn: psycopg.Connection[Any], settings: Settings, day: dt.date
) -> dict[int, tuple[float, int]]:
    """The folded day copied to the 29 days before it (the same walks every day: the volume a
    month of grid-days holds), then periods of 1, 7 and 30 days up to `day` read as
    /api/v1/stats and /api/v1/patrols/coverage read them: {days: (seconds, grid rows)}."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO patrol_grid_days SELECT grid_code, day - k, distance_m, seconds, "
            "covered_share, patrols, lattice_id, cells, reach_m2, reach_cells, road_m, "
            "road_cells FROM patrol_grid_days, generate_series(1, 29) k WHERE day = %s",
            (day,),
        )
    conn.execute("VACUUM ANALYZE patrol_grid_days")
    out = {}
    for days in (1, 7, 30):
        b0 = day - dt.timedelta(days=days - 1)
        period_rows(conn, settings, b0, day + dt.timedelta(days=1), by_day=False)  # warm
        t0 = time.perf_counter()
        rows = period_rows(conn, settings, b0, day + dt.timedelta(days=1), by_day=False)
        out[days] = (time.perf_counter() - t0, len(rows))
    return out


def cpu_now() -> float:
    """CPU of this process (the load generator and the live stream's follower)."""
    return time.process_time()


def cpu_line(run: Run, cores: int) -> str:
    """CPU per request of each process tree in the timed window, and the fixes/s their sum
    allows on `cores` free cores (bench/cpu.py: throughput = cores ÷ CPU per request)."""
    if not run.requests or not run.cpu:
        return ""
    per = {k: 1000 * v / run.requests for k, v in run.cpu.items()}
    total = sum(per.values())
    free = cores * 1000 / total * run.fixes / run.requests if total else float("nan")
    parts = ", ".join(f"{k} {v:.2f}" for k, v in per.items())
    return f"; CPU ms per request: {parts} → {free:,.0f} fixes/s on {cores} free cores"


def report(
    a: Any,
    n: int,
    run: Run,
    elapsed: float,
    cov: tuple[float, int, int, float],
    url: str,
    loads: dict[str, float],
) -> Table:
    seconds, grids, fixes, steady = cov
    rate = run.fixes / elapsed if elapsed else 0.0
    lat = sorted(run.latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    t = Table(title="大联勤 patrols: the targets of issue 22", title_justify="left")
    for col in ("target", "figure", "met", "how measured", "load average"):
        t.add_column(col)
    t.add_row(
        f"ingest ≥ {TARGETS['ingest']:,.0f} fixes/s",
        f"{rate:,.0f} fixes/s",
        "yes" if rate >= TARGETS["ingest"] else "no",
        f"{n:,} officers, batches of {a.batch}, {a.clients} in flight, {elapsed:.0f} s: "
        f"{run.fixes:,} fixes in {run.requests:,} requests ({run.errors} errors)"
        + cpu_line(run, os.cpu_count() or 1),
        f"{loads['ingest']:.2f}",
    )
    t.add_row(
        f"one day's coverage ≤ {TARGETS['coverage']:.0f} s (as folded)",
        f"{steady:.1f} s after the day's last minute",
        "yes" if steady <= TARGETS["coverage"] else "no",
        f"in service the app folds every minute's fixes as they come: the day's figures are "
        f"complete one fold after its last fix; here the fold of one more minute of every "
        f"officer's fixes at the end of a {fixes:,}-fix day (their 15-minute pieces computed "
        "again in full)",
        f"{loads['coverage']:.2f}",
    )
    t.add_row(
        f"one day's coverage ≤ {TARGETS['coverage']:.0f} s (from nothing)",
        f"{seconds:.1f} s",
        "yes" if seconds <= TARGETS["coverage"] else "no",
        f"the whole day folded at once (`gridgov patrols fold --all`, or the backlog after "
        f"an outage): {fixes:,} fixes of {n:,} officers, {grids:,} grid-day updates; "
        "10,000 grids",
        f"{loads['coverage']:.2f}",
    )
    t.add_row(
        f"live position ≤ {TARGETS['live']:.0f} s",
        f"p50 {p50:.2f} s · p95 {p95:.2f} s",
        "yes" if lat and p95 <= TARGETS["live"] else "no",
        f"{len(lat)} probe batches (send → `position` event on an admin's "
        "/api/v1/patrols/live), during the ingest",
        f"{loads['ingest']:.2f}",
    )
    return t


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    n = a.officers or (500 if a.quick else 5000)
    a.seconds = a.seconds or (10.0 if a.quick else 60.0)
    hours = a.hours or (0.5 if a.quick else 4.0)
    settings = Settings()
    tz = ZoneInfo(settings.calendar.timezone)
    day = dt.datetime.now(tz).date() - dt.timedelta(days=1)  # yesterday: all fixes in the past
    start = dt.datetime.combine(day, dt.time(8), tzinfo=tz).astimezone(dt.UTC)
    loads: dict[str, float] = {}
    with (
        bench_database() as url,
        psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn,
    ):
        console.print(f"[bold]GridGov patrol benchmark[/] · {machine_line(url)}")
        with console.status("10,000 grids, officers, patrols"):
            with psycopg.connect(url) as plain:  # build_hierarchy reads tuple rows
                build_hierarchy(plain, 0)
            t0 = time.perf_counter()
            everyone = make_officers(conn, n + 10, start)
            officers, probes = everyone[:n], everyone[n:]
            admin = TOKEN_PREFIX + "bench-admin-" + os.urandom(16).hex()
            with conn.transaction():
                uid = conn.execute(
                    "INSERT INTO users (name, role) VALUES ('bench-admin', 'admin') RETURNING id"
                ).fetchone()
                assert uid is not None
                conn.execute(
                    "INSERT INTO api_tokens (user_id, token_hash, prefix) VALUES (%s, %s, %s)",
                    (uid["id"], hash_token(admin), admin[:10]),
                )
        console.print(f"[dim]dataset ready in {time.perf_counter() - t0:.0f} s[/]")
        with gridgov_server(url, a.workers) as server:
            with console.status(f"ingest for {a.seconds:.0f} s"):
                pids = {"server": server.pid}
                pg = postmaster_pid(url)
                if pg is not None:
                    pids["PostgreSQL"] = pg
                count = int(a.plan_rate * a.seconds / a.batch)
                plan = Plan(officers, start, a.batch, urlsplit(server.base).netloc, count)
                with asyncio.Runner(loop_factory=new_event_loop) as runner:  # uvloop: less CPU
                    ingest = load(server.base, plan, probes, admin, a, start, pids)
                    run, elapsed = runner.run(ingest)
                loads["ingest"] = os.getloadavg()[0]
                plan.settle()
        stored = conn.execute("SELECT count(*) AS n FROM patrol_fixes").fetchone()
        assert stored is not None
        console.print(
            f"[dim]ingest: {run.fixes:,} fixes acknowledged in {elapsed:.0f} s, "
            f"{stored['n']:,} in the database; {plan.late:,} uploads built during the run[/]"
        )
        for failure in run.failures[:5]:
            console.print(f"[red]{failure}[/]")
        if stored["n"] != run.fixes:
            console.print("[red]the database does not hold the fixes the server acknowledged[/]")
            run.errors += 1
        with console.status(f"the rest of a {hours:g} h walk per officer, in SQL"):
            t0 = time.perf_counter()
            bulk_day(conn, everyone, start, hours)
            console.print(f"[dim]the day's walk written in {time.perf_counter() - t0:.0f} s[/]")
        fixes = conn.execute("SELECT count(*) AS n FROM patrol_fixes").fetchone()
        assert fixes is not None
        with console.status("one day's coverage: the day's pieces folded"):
            t0 = time.perf_counter()
            end = start + dt.timedelta(hours=hours)  # the clock of the simulated day
            folded = fold_all(conn, settings, now=end)
            seconds = time.perf_counter() - t0
            loads["coverage"] = os.getloadavg()[0]
        console.print(
            f"[dim]fold: {folded['pieces']:,} pieces → {folded['parts']:,} parts, "
            f"{folded['grid_days']:,} grid-days[/]"
        )
        with console.status("one more minute of every officer's walk, folded"):
            for o in everyone:
                o.step = int(hours * 3600 / FIX_S)
            bulk_day(conn, everyone, start, hours + 60 / 3600)
            t0 = time.perf_counter()
            minute = fold_all(conn, settings, now=end + dt.timedelta(minutes=1))
            steady = time.perf_counter() - t0
        console.print(
            f"steady fold: one more minute of {len(everyone):,} officers' fixes folded in "
            f"{steady:.1f} s ({minute['pieces']:,} pieces → {minute['parts']:,} parts)"
        )
        with console.status("periods of 1, 7 and 30 days read"):
            reads = period_reads(conn, settings, day)
        for days, (secs, grids) in reads.items():
            console.print(f"period of {days:>2} days by grid: {secs:.3f} s, {grids:,} grid rows")
        console.print(
            report(
                a, n, run, elapsed, (seconds, folded["grid_days"], fixes["n"], steady), url, loads
            )
        )
    return 0
