"""`python -m bench` (`make bench`): the six benchmark tables in one run, on one dataset.

    .venv/bin/python -m bench              # full run (≈ 10 min on 2 cores)
    .venv/bin/python -m bench --quick      # small run to check the scripts (≈ 2 min)
    .venv/bin/python -m bench.assign       # the older single-report / bulk plan comparison
    .venv/bin/python -m bench scale        # a year of a city, 1,000,000 incidents (bench/scale.py)
    .venv/bin/python -m bench patrol       # patrols: ingest, coverage, live (bench/patrol.py)

One throwaway cluster (or a fresh database on GRIDGOV_DATABASE_URL's server) holds the synthetic
district of bench/synthetic.py (10,000 grids), its buildings and seeded incidents; every benchmark
reads it. Figures only: nothing here asserts on time. docs/performance.md explains the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psycopg
from rich.table import Table

from bench import bulk, intake, intake_parts, page, tiles
from bench.common import bench_database, console, machine_line
from bench.cpu import postmaster_pid
from bench.dataset import build_dataset
from bench.servers import Server, gridgov_server, install_tipg, peak_rss_mb, tipg_server
from bench.synthetic import DISTRICT


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options; --quick shrinks every size."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: checks the scripts run")
    p.add_argument("--points", type=int, help="bulk points (default 1,000,000; quick 100,000)")
    p.add_argument("--seconds", type=float, help="timed seconds per load run (default 10; quick 3)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    p.add_argument("--repeat", type=int, default=1, help="timed runs per bulk variant (median)")
    p.add_argument(
        "--only", default="bulk,intake,locate,tiles,page", help="comma-separated subset to run"
    )
    return p.parse_args(argv)


def memory_table(rows: list[tuple[str, str, Server, tuple[float, float, int]]]) -> Table:
    """Peak resident memory of each server process tree, read when its phase ended."""
    t = Table(title="6. Memory: peak RSS of the servers (VmHWM)", title_justify="left")
    t.add_column("server")
    t.add_column("during")
    for col in ("processes", "sum of peaks MB", "largest process MB"):
        t.add_column(col, justify="right")
    for label, phase, server, (total, largest, n) in rows:
        t.add_row(label or server.label, phase, str(n), f"{total:,.0f}", f"{largest:,.0f}")
    return t


def main(argv: list[str] | None = None) -> int:
    """Build the dataset once, run each benchmark, print its table as soon as it is done."""
    if argv and argv[0] == "scale":  # python -m bench scale: a year of a city (bench/scale.py)
        from bench.scale import main as scale_main

        return scale_main(argv[1:])
    if argv and argv[0] == "patrol":  # python -m bench patrol: 大联勤 patrols (bench/patrol.py)
        from bench.patrol import main as patrol_main

        return patrol_main(argv[1:])
    a = parse_args(argv)
    only = set(a.only.split(","))
    points = a.points or (100_000 if a.quick else 1_000_000)
    seconds = a.seconds or (3.0 if a.quick else 10.0)
    warmup = 1.0 if a.quick else 2.0
    clients = [1, 8, 32]
    per_zoom = 6 if a.quick else 20
    page_runs = 2 if a.quick else 4
    started = time.perf_counter()
    memory: list[tuple[str, str, Server, tuple[float, float, int]]] = []
    printed: list[Table] = []

    def show(table: Table) -> None:
        console.print(table)
        printed.append(table)

    with bench_database() as url:
        console.print(f"[bold]GridGov benchmarks[/] · {machine_line(url)}")
        with psycopg.connect(url, autocommit=True) as conn, console.status("generating data"):
            data = build_dataset(conn, buildings_per_grid=10, incidents=10_000)
        h = data.hierarchy
        setup = ", ".join(f"{k} {v:.1f} s" for k, v in data.timings.items())
        console.print(
            f"[dim]dataset: {h.areas.get('grid', 0):,} grids, {h.buildings:,} "
            f"buildings, {data.incidents:,} incidents · {setup}[/]"
        )

        if "bulk" in only:
            with psycopg.connect(url, autocommit=True) as conn:
                results, extra = bulk.run_bulk(conn, points, a.repeat, point_driven=not a.quick)
            show(bulk.bulk_table(results, points))
            for line in bulk.agreement(results) or [
                "all variants agree (count, sample, SQL fingerprint)"
            ]:
                console.print(f"[dim]{line}[/]")
            console.print("[dim]" + ", ".join(f"{k} {v:.1f} s" for k, v in extra.items()) + "[/]")

        # Tiles and page first: they are specified on the dataset as built (10,000 incidents);
        # the intake runs add one incident per report (≈ 10,000 more in a full run).
        if only & {"tiles", "page"}:
            with gridgov_server(url, a.workers) as server:
                if "tiles" in only:
                    why = install_tipg()
                    tipg_memory = None
                    if why is None:
                        tables = ["public.areas", "public.buildings", "public.incidents"]
                        with tipg_server(url, a.workers, tables) as ref:
                            tile_results = tiles.run_tiles(server, ref, per_zoom)
                            tipg_memory = ("", "4. tiles", ref, peak_rss_mb(ref))
                    else:
                        console.print(f"[yellow]tipg unavailable: {why}[/]")
                        tile_results = tiles.run_tiles(server, None, per_zoom)
                    reference = "tipg" if why is None else "nothing (tipg unavailable)"
                    show(tiles.tiles_table(tile_results, per_zoom, reference))
                    memory.append(("", "4. tiles", server, peak_rss_mb(server)))
                    if tipg_memory is not None:
                        memory.append(tipg_memory)
                if "page" in only:
                    runs = page.run_page(server, DISTRICT, url, page_runs)
                    show(page.page_table(runs, data.incidents, h.areas.get("grid", 0)))
                    memory.append(("", "4. tiles + 5. page", server, peak_rss_mb(server)))

        if only & {"intake", "locate"}:
            postgres = postmaster_pid(url)
            with gridgov_server(url, a.workers) as server:
                if "intake" in only:
                    rows = intake.run_intake(server, clients, seconds, warmup, postgres)
                    show(intake.intake_table(rows, a.workers))
                    show(intake.cpu_table(rows, os.cpu_count() or 1))
                    memory.append(("", "2. intake", server, peak_rss_mb(server)))
                    parts_calls = 300 if a.quick else 1000
                    with console.status("intake's parts without HTTP"):
                        parts = intake_parts.run_parts(url, parts_calls)
                    show(intake_parts.parts_table(parts, parts_calls))
                if "locate" in only:
                    located = intake.run_locate(server, clients, seconds, warmup, postgres)
                    show(intake.locate_table(located, h.areas.get("grid", 0), h.buildings))
                    memory.append(("", "2. intake + 3. locate", server, peak_rss_mb(server)))
        if memory:
            show(memory_table(memory))
    elapsed = time.perf_counter() - started
    console.print(
        f"[dim]{len(printed)} tables · total {elapsed:.0f} s · load average at the end "
        f"{os.getloadavg()[0]:.2f} · servers: uvicorn --workers {a.workers}, pool "
        f"{os.environ.get('GRIDGOV_POOL_MIN', 2)}–{os.environ.get('GRIDGOV_POOL_MAX', 16)} "
        f"connections per worker[/]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
