"""Bulk (re)assignment: N random points to 10,000 grids through GridGov's own set-based path
(gis.bulk_assign.assign_points_to_grids) next to the naive join, the hand-written SQL plans of
bench/assign.py and Shapely's STRtree. Every variant writes bench_points.grid_code for all points.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from rich.table import Table

from bench.assign import (
    GRID_DRIVEN_SQL,
    NAIVE_SQL,
    POINT_DRIVEN_SQL,
    BulkResult,
    agreement,
    load_points,
    reset_points,
    run_shapely,
    run_sql_variant,
    sample_ids,
    written_result,
)
from bench.common import console
from gis.bulk_assign import assign_points_to_grids

PRODUCT = "GridGov: gis.bulk_assign.assign_points_to_grids"


def run_product(conn: psycopg.Connection[Any], ids: list[int], repeat: int) -> BulkResult:
    """Reset, VACUUM ANALYZE, then time GridGov's function in one transaction (commit timed)."""
    times = []
    for run in range(1, repeat + 1):
        with console.status(f"{PRODUCT} ({run}/{repeat})"):
            reset_points(conn)
            t0 = time.perf_counter()
            with conn.transaction():
                assign_points_to_grids(conn, "bench_points")
            times.append(time.perf_counter() - t0)
    return written_result(conn, PRODUCT, times, ids)


def run_bulk(
    conn: psycopg.Connection[Any], n: int, repeat: int, point_driven: bool
) -> tuple[list[BulkResult], dict[str, float]]:
    """Load n points, run every variant; (results with the naive join first, setup timings)."""
    with console.status(f"loading {n:,} points"):
        load_s = load_points(conn, n)
    ids = sample_ids(n)
    results = [
        run_sql_variant(conn, "naive: UPDATE … FROM areas WHERE ST_Covers", NAIVE_SQL, ids, repeat),
        run_product(conn, ids, repeat),
        run_sql_variant(
            conn, "best pure SQL: grid-driven LATERAL … OFFSET 0", GRID_DRIVEN_SQL, ids, repeat
        ),
    ]
    if point_driven:
        results.append(
            run_sql_variant(conn, "SQL: point-driven DISTINCT ON", POINT_DRIVEN_SQL, ids, repeat)
        )
    shapely_result, shapely_load = run_shapely(conn, ids, repeat)
    results.append(shapely_result)
    conn.execute("DROP TABLE bench_points")
    return results, {"points loaded": load_s, "Shapely loading + tree": shapely_load}


def bulk_table(results: list[BulkResult], n: int) -> Table:
    """Seconds, points/s, × naive, and GridGov's distance from the best pure-SQL plan."""
    t = Table(title=f"1. Bulk assignment of {n:,} points to 10,000 grids", title_justify="left")
    t.add_column("variant")
    for col in ("seconds", "points/s", "× naive", "÷ best SQL", "assigned"):
        t.add_column(col, justify="right")
    naive = results[0].seconds
    best_sql = min(r.seconds for r in results if not r.label.startswith("in-memory"))
    for r in results:
        in_memory = r.label.startswith("in-memory")
        t.add_row(
            r.label + (" (query only)" if in_memory else ""),
            f"{r.seconds:.2f}",
            f"{n / r.seconds:,.0f}",
            f"{naive / r.seconds:.2f}",
            "-" if in_memory else f"{r.seconds / best_sql:.2f}",
            f"{r.assigned:,}",
        )
    return t


__all__ = ["agreement", "bulk_table", "run_bulk"]
