"""Every interactive read of issue 13 through the real app over HTTP, on the scale dataset.

One client, sequential calls (the p95 of a quiet server, not its capacity under load); each
read picks its parameters from the data (a busy grid, real incident ids, tiles over the city).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from api.services.identity.auth import add_user, create_token
from bench.common import Latency, console
from bench.cpu import Cpu, postmaster_pid
from bench.servers import Server
from bench.synthetic import DISTRICT, extent


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The web-mercator tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def samples(url: str) -> dict[str, Any]:
    """Parameters taken from the data: busiest grid, a street, real ids, an admin token."""
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        grid = conn.execute(
            "SELECT grid_code FROM incidents WHERE closed_at IS NULL GROUP BY grid_code "
            "ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        ids = conn.execute(
            "SELECT public_id FROM incidents TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 200"
        ).fetchall()
        name = f"bench-admin-{os.getpid()}"
        add_user(conn, name, "admin", None, None)
        token = create_token(conn, name)
    assert grid is not None
    return {
        "grid": grid["grid_code"],
        "street": DISTRICT + "001",
        "ids": [r["public_id"] for r in ids],
        "headers": {"Authorization": f"Bearer {token}"},
    }


def _run(
    label: str, calls: list[Callable[[httpx.Client], httpx.Response]], c: httpx.Client, cpu: Cpu
) -> Latency:
    """The calls one after the other: their wall times, and the CPU the app and the database
    used meanwhile — a read's cost in cores, which the machine's other tenants move far less
    than its wall time. It holds what a call does untimed too (the report posted before a
    "hotspots after a new report", the kept buckets forgotten before a "nothing kept")."""
    errors = 0
    times: list[float] = []
    before = cpu.now()
    t_all = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        r = call(c)
        times.append(r.extensions.get("bench_s", time.perf_counter() - t0))
        errors += r.status_code >= 400
    wall = time.perf_counter() - t_all
    return Latency(label, times, wall, errors, cpu.since(before))


def _timed_get(c: httpx.Client, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    """GET `path`, its time in `extensions["bench_s"]` (what `_run` reads): the call's untimed
    work done before it."""
    t0 = time.perf_counter()
    r = c.get(path, params=params)
    r.extensions["bench_s"] = time.perf_counter() - t0
    return r


def _after_report(c: httpx.Client, at: dict[str, float], path: str) -> httpx.Response:
    """POST a report at `at`, then GET `path`; only the GET is timed."""
    c.post(
        "/api/v1/incidents", json={"category": "SJ0102", "description": "规模测试", "location": at}
    )
    return _timed_get(c, path)


def run_reads(
    server: Server,
    url: str,
    now: dt.datetime,
    runs: int,
    slow: int = 3,
    *,
    stats: bool = True,
    only: str | None = None,
) -> list[Latency]:
    """One Latency row per read; `runs` calls each (`slow` for the trend and the year); the
    evaluation's reads only with `stats`; with `only`, just the reads whose label holds it."""
    s = samples(url)
    rng = random.Random(13)
    day = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    month = (day - dt.timedelta(days=30)).isoformat(), day.isoformat()
    year = (day - dt.timedelta(days=365)).isoformat(), day.isoformat()
    x0, y0, x1, y1 = extent()
    out: list[Latency] = []

    def same(
        path: str, n: int = runs, **params: Any
    ) -> list[Callable[[httpx.Client], httpx.Response]]:
        return [lambda c, p=params: c.get(path, params=p) for _ in range(n)]

    filters = {
        "no filter": {},
        "status=dispatched,in_progress": {"status": "dispatched,in_progress"},
        "grid (busiest)": {"grid": s["grid"]},
        "area (a street)": {"area": s["street"]},
        "department=WATER": {"department": "WATER"},
        "category=SJ01": {"category": "SJ01"},
        "overdue=true": {"overdue": "true"},
        "since 7 days": {"since": (now - dt.timedelta(days=7)).isoformat()},
        "bbox 1 km²": {"bbox": f"{x0 + 0.01},{y0 + 0.01},{x0 + 0.0217},{y0 + 0.019}"},
        "order=newest": {"order": "newest"},
    }
    cpu = Cpu(server.pid, postmaster_pid(url))
    with httpx.Client(base_url=server.base, headers=s["headers"], timeout=600) as c:
        c.get("/healthz")

        def timed(label: str, calls: list[Callable[[httpx.Client], httpx.Response]]) -> None:
            if only is None or only in label:
                out.append(_run(label, calls, c, cpu))

        for label, params in filters.items():
            timed(f"list, {label}", same("/api/v1/incidents", limit=100, **params))
        timed("list, cursor paging (pages 2-21)", _pages(c, runs))
        ids = s["ids"]
        detail = [lambda c, i=rng.choice(ids): c.get(f"/api/v1/incidents/{i}") for _ in range(runs)]
        timed("detail", detail)
        dups = [
            lambda c, i=rng.choice(ids): c.get(f"/api/v1/incidents/{i}/possible-duplicates")
            for _ in range(runs)
        ]
        timed("duplicate search", dups)
        for z in range(10, 17):
            tiles = []
            for _ in range(runs):
                tx, ty = tile_of(rng.uniform(x0, x1), rng.uniform(y0, y1), z)
                tiles.append(lambda c, p=f"/tiles/incidents/{z}/{tx}/{ty}.pbf": c.get(p))
            timed(f"incident tile z{z}", tiles)
        timed("hotspots (default: 7 days)", same("/api/v1/hotspots"))
        # each call after a new report in the city: the answer is clustered again (a miss)
        fresh = []
        for _ in range(runs):
            at = {"lon": rng.uniform(x0, x1), "lat": rng.uniform(y0, y1)}
            fresh.append(lambda c, at=at: _after_report(c, at, "/api/v1/hotspots"))
        timed("hotspots after a new report", fresh)
        timed("repeats (90 days)", same("/api/v1/repeats", days=90))
        if stats:
            reads = _stats_reads(c, cpu, url, (month, year), (runs, slow), only, s["grid"])
            out += [r for r in reads if r is not None]
        ogc = [
            lambda c, o=rng.randrange(0, 5000) * 100: c.get(
                "/ogc/collections/incidents/items", params={"limit": 100, "offset": o}
            )
            for _ in range(runs)
        ]
        timed("OGC items, limit 100 at random offsets", ogc)
        week = (now - dt.timedelta(days=7)).isoformat(), now.isoformat()
        timed(
            "Open311 GET requests, 7 days",
            same("/open311/v2/requests.json", start_date=week[0], end_date=week[1]),
        )
        intake = [
            lambda c: c.post(
                "/api/v1/incidents",
                json={
                    "category": "SJ0102",
                    "description": "规模测试上报",
                    "location": {"lon": rng.uniform(x0, x1), "lat": rng.uniform(y0, y1)},
                },
            )
            for _ in range(runs)
        ]
        timed("intake (POST /api/v1/incidents)", intake)
    return out


def _nothing_kept(c: httpx.Client, url: str, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET `path` after forgetting the trends' kept buckets (bucket_cache): a first read of
    the day; only the GET is timed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM eval_bucket_cache")
    return _timed_get(c, path, params)


# A read timed as a process's first of its period (sums_kept, times_kept): the generation raised
# before it, so that what every process keeps is stale (docs/metrics.md "Kept buckets")
FIRST_READ = "a process's first read of the period"


def _raised_first(c: httpx.Client, url: str, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET `path` after raising the generation (as a back-dated write does): nothing any
    process kept of the period is current; only the GET is timed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE eval_stale SET generation = generation + 1")
    return _timed_get(c, path, params)


def _after_untimed(c: httpx.Client, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET `path` twice, only the second timed: the first keeps the period's settled days in
    the process the client's connection reaches (its first read is a row of its own)."""
    c.get(path, params=params)
    return _timed_get(c, path, params)


def _stats_reads(
    c: httpx.Client,
    cpu: Cpu,
    url: str,
    periods: tuple[tuple[str, str], tuple[str, str]],
    counts: tuple[int, int],
    only: str | None,
    grid: str,
) -> list[Latency | None]:
    (month, year), (runs, slow) = periods, counts

    def same(path: str, n: int, **params: Any) -> list[Callable[[httpx.Client], httpx.Response]]:
        return [lambda c, p=params: c.get(path, params=p) for _ in range(n)]

    def cold(path: str, n: int, **params: Any) -> list[Callable[[httpx.Client], httpx.Response]]:
        return [lambda c, p=params: _nothing_kept(c, url, path, p) for _ in range(n)]

    def kept(path: str, n: int, **params: Any) -> list[Callable[[httpx.Client], httpx.Response]]:
        # the process's first read of the period before the first timed one
        return [lambda c, p=params: _after_untimed(c, path, p)] + same(path, n - 1, **params)

    def first(path: str, n: int, **params: Any) -> list[Callable[[httpx.Client], httpx.Response]]:
        return [lambda c, p=params: _raised_first(c, url, path, p) for _ in range(n)]

    stats_month = {"from": month[0], "to": month[1]}
    year_params = {"from": year[0], "to": year[1]}
    # the trend charts the stats page draws for a clicked group: a department, a grid
    trend = {"group_by": "department", "code": "WATER", **stats_month}
    grid_trend = {"group_by": "area", "level": "grid", "code": grid, **stats_month}
    reads = {
        # (the client's keep-alive connection reaches one server process throughout)
        "stats, 30 days": kept("/api/v1/stats", runs, **stats_month),
        "flags, 30 days": kept("/api/v1/stats/flags", runs, **stats_month),
        # as /map/stats asks: the first 500 flags and how many there are
        "flags, 30 days, the first 500": kept(
            "/api/v1/stats/flags", runs, **stats_month, limit=500
        ),
        # what each process reads once a period and day (or after a back-dated write)
        f"stats, 30 days, {FIRST_READ}": first("/api/v1/stats", runs, **stats_month),
        # the past days computed (the first read of the day), then kept (docs/performance.md);
        # as many calls as the other interactive reads: a p95 of three calls is their slowest
        "trend, 30 days by day, department WATER, nothing kept": cold(
            "/api/v1/stats/trend", runs, **trend
        ),
        "trend, 30 days by day, department WATER": same("/api/v1/stats/trend", runs, **trend),
        "trend, 30 days by day, the busiest grid": same("/api/v1/stats/trend", runs, **grid_trend),
        "stats, 365 days (HTTP)": same("/api/v1/stats", slow, **year_params),
    }
    return [
        _run(label, calls, c, cpu) if only is None or only in label else None
        for label, calls in reads.items()
    ]


def _pages(c: httpx.Client, runs: int) -> list[Callable[[httpx.Client], httpx.Response]]:
    """Requests that follow next_cursor from the first page on."""
    state: dict[str, Any] = {"cursor": None}
    first = c.get("/api/v1/incidents", params={"limit": 100}).json()
    state["cursor"] = first.get("next_cursor")

    def page(c: httpx.Client) -> httpx.Response:
        r = c.get("/api/v1/incidents", params={"limit": 100, "cursor": state["cursor"]})
        state["cursor"] = r.json().get("next_cursor")
        return r

    return [page for _ in range(runs)]


def export_year(url: str) -> tuple[float, int, float]:
    """Seconds of `gridgov export incidents FILE.csv` (every incident), the file's size, and the
    export process's peak resident memory (MB, from wait4's rusage of that process alone)."""
    out = Path(tempfile.mkdtemp(prefix="gridgov-scale-")) / "incidents.csv"
    # `gridgov` of this checkout: the venv's entry point may import another one's code
    gridgov = [sys.executable, "-c", "from api.cli import app; app(prog_name='gridgov')"]
    env = {**os.environ, "GRIDGOV_DATABASE_URL": url}
    t0 = time.perf_counter()
    with console.status("export: gridgov export incidents …csv"), tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*gridgov, "export", "incidents", str(out)],
            env=env,
            stdout=log,
            stderr=log,
            cwd=Path(__file__).resolve().parents[1],
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            raise RuntimeError(f"gridgov export failed: {log.read().decode()[-2000:]}")
    seconds = time.perf_counter() - t0
    size = out.stat().st_size
    shutil.rmtree(out.parent)
    return seconds, size, usage.ru_maxrss / 1024  # Linux: kilobytes
