"""Spatial assignment: single-report latency through HTTP, and bulk point-in-grid throughput.

    .venv/bin/python -m bench.assign                     # 2,000 reports, 1,000,000 points
    .venv/bin/python -m bench.assign --points 100000 --reports 500   # a quick run
    .venv/bin/python -m bench.assign --explain           # also print the query plans

Runs on its own throwaway cluster (or in a fresh database on GRIDGOV_DATABASE_URL's server) holding
the synthetic district of bench/synthetic.py. Figures only: nothing here asserts on time.
docs/performance.md explains each figure.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass
from typing import Any, LiteralString

import httpx
import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from rich.progress import track
from rich.table import Table
from rich.text import Text

from api.schemas.incidents import IncidentIn
from api.services.intake.report import report_incident
from api.settings import DatabaseSettings, Settings
from bench.common import Latency, app_server, bench_database, console, latency_table, machine_line
from bench.synthetic import REPORT_CATEGORIES, build_hierarchy, extent
from gis.assign import ASSIGN_SQL, assign_buildings_to_grids, assign_point

WARMUP = 50

# -- bulk variants ----------------------------------------------------------------------------
# Each writes bench_points.grid_code for every point; only the way the grid is found differs.

NAIVE_SQL = """
UPDATE bench_points p SET grid_code = a.code
FROM areas a
WHERE a.level = 'grid' AND a.valid_to IS NULL AND ST_Covers(a.geom, p.geom)
"""

GRID_DRIVEN_SQL = """
UPDATE bench_points p SET grid_code = m.code
FROM (
    -- min(code): a point on an edge shared by two grids goes to the lowest code
    SELECT q.id, min(g.code) AS code
    FROM area_parts g
    CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a subquery the planner cannot flatten into a join it might drive
        -- from the points side: each grid part makes one GiST probe on the points' index.
        SELECT p.id FROM bench_points p WHERE ST_Covers(g.geom, p.geom) OFFSET 0
    ) q
    WHERE g.level_rank = 4
    GROUP BY q.id
) m
WHERE m.id = p.id
"""

POINT_DRIVEN_SQL = """
UPDATE bench_points p SET grid_code = m.code
FROM (
    -- DISTINCT ON + ORDER BY id, code: the lowest code wins on a shared edge
    SELECT DISTINCT ON (p.id) p.id, g.code
    FROM bench_points p JOIN area_parts g ON g.level_rank = 4 AND ST_Covers(g.geom, p.geom)
    ORDER BY p.id, g.code
) m
WHERE m.id = p.id
"""

# The shape of gis.assign.ASSIGN_BUILDINGS_SQL: one correlated probe per row, LIMIT 1.
POINT_LATERAL_SQL = """
UPDATE bench_points p SET grid_code = (
    SELECT g.code FROM area_parts g
    WHERE g.level_rank = 4 AND ST_Covers(g.geom, p.geom)
    ORDER BY g.code
    LIMIT 1)
"""

SQL_VARIANTS: list[tuple[str, LiteralString]] = [
    ("naive: areas join (UPDATE … FROM areas)", NAIVE_SQL),
    ("GridGov: area_parts, grid-driven LATERAL", GRID_DRIVEN_SQL),
    ("GridGov: area_parts, point-driven DISTINCT ON", POINT_DRIVEN_SQL),
    ("GridGov: area_parts, correlated LIMIT 1", POINT_LATERAL_SQL),
]

POINTS_SQL = """
CREATE TABLE bench_points (
    id bigint PRIMARY KEY,
    geom geometry(Point, 4326) NOT NULL,
    grid_code text
) WITH (fillfactor = 50)
"""
# fillfactor 50: every variant rewrites every row; with room on the page each rewrite is a HOT
# update (grid_code is not indexed), so no variant pays for index maintenance another one skipped.

FILL_POINTS_SQL = """
INSERT INTO bench_points (id, geom)
SELECT n, ST_SetSRID(ST_MakePoint(%(x0)s + random() * %(w)s, %(y0)s + random() * %(h)s), 4326)
FROM generate_series(1, %(n)s) AS n
"""

FINGERPRINT_SQL = """
SELECT count(grid_code), coalesce(sum(hashtextextended(grid_code, id)), 0)
FROM bench_points
"""


@dataclass
class BulkResult:
    """One variant's run: time, and what it assigned."""

    label: str
    times: list[float]
    assigned: int
    fingerprint: str | None
    sample: dict[int, str | None]

    @property
    def seconds(self) -> float:
        """The median of the timed runs."""
        return float(np.median(self.times))


def random_points(n: int, seed: int) -> np.ndarray:
    """n uniform (lon, lat) pairs inside the lattice."""
    x0, y0, x1, y1 = extent()
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


# -- single reports -----------------------------------------------------------------------------


def time_calls(label: str, n: int, call: Any, points: np.ndarray, categories: list[str]) -> Latency:
    """Call `call(lon, lat, category)` for each point in turn; count the calls that fail."""
    samples: list[float] = []
    errors = 0
    start = time.perf_counter()
    steps = track(
        range(n),
        description=label,
        transient=True,
        console=console,
        disable=not console.is_terminal,
    )
    for i in steps:
        lon, lat = float(points[i, 0]), float(points[i, 1])
        t0 = time.perf_counter()
        try:
            ok = call(lon, lat, categories[i])
        except Exception:
            ok = False
        samples.append(time.perf_counter() - t0)
        errors += 0 if ok else 1
    return Latency(label, samples, time.perf_counter() - start, errors)


def latency_runs(url: str, n: int) -> list[Latency]:
    """Direct calls (no HTTP), then the real app over HTTP; each after a warm-up."""
    points = random_points(n + WARMUP, seed=7)
    rng = np.random.default_rng(11)
    categories = [str(c) for c in rng.choice(REPORT_CATEGORIES, n + WARMUP)]
    warm_points, warm_cats = points[n:], categories[n:]
    runs: list[Latency] = []
    settings = Settings(db=DatabaseSettings(database_url=url))

    with psycopg.connect(url, row_factory=dict_row) as conn:

        def direct_assign(lon: float, lat: float, category: str) -> bool:
            with conn.transaction():
                assign_point(conn, lon, lat, category=category)
            return True

        def direct_intake(lon: float, lat: float, category: str) -> bool:
            report = IncidentIn.model_validate(
                {"category": category, "location": {"lon": lon, "lat": lat}}
            )
            with conn.transaction():
                report_incident(conn, settings, report, user=None, idempotency_key=None)
            return True

        for label, call in [
            ("assign_point(), no HTTP", direct_assign),
            ("report_incident(), no HTTP", direct_intake),
        ]:
            time_calls("warm-up", WARMUP, call, warm_points, warm_cats)
            runs.append(time_calls(label, n, call, points, categories))

    with app_server(url) as base, httpx.Client(base_url=base, timeout=30) as client:

        def post(lon: float, lat: float, category: str) -> bool:
            body = {"category": category, "location": {"lon": lon, "lat": lat}}
            return client.post("/api/v1/incidents", json=body).status_code == 201

        def locate(lon: float, lat: float, category: str) -> bool:
            params = {"lon": lon, "lat": lat}
            return client.get("/api/v1/locate", params=params).status_code == 200

        for label, call in [
            ("POST /api/v1/incidents (HTTP)", post),
            ("GET /api/v1/locate (HTTP)", locate),
        ]:
            time_calls("warm-up", WARMUP, call, warm_points, warm_cats)
            runs.append(time_calls(label, n, call, points, categories))
    return runs


def assign_params(lon: float, lat: float, category: str | None) -> dict[str, Any]:
    """ASSIGN_SQL's parameters as gis.assign.assign_point binds them (default tolerances)."""
    near_m = 10.0
    return {
        "lon": lon,
        "lat": lat,
        "category": category,
        "by_class": False,
        "nearest_m": 50.0,
        "near_m": near_m,
        "near_dx": near_m / (111_320.0 * math.cos(math.radians(lat))) * 1.1,
        "near_dy": near_m / 110_574.0 * 1.1,
    }


# -- bulk -----------------------------------------------------------------------------------------


def load_points(conn: psycopg.Connection[Any], n: int) -> float:
    """Create and fill bench_points with n random points (seeded); returns seconds taken."""
    x0, y0, x1, y1 = extent()
    t0 = time.perf_counter()
    conn.execute("DROP TABLE IF EXISTS bench_points")
    conn.execute(POINTS_SQL)
    conn.execute("SELECT setseed(0.42)")
    conn.execute(FILL_POINTS_SQL, {"x0": x0, "y0": y0, "w": x1 - x0, "h": y1 - y0, "n": n})
    conn.execute("CREATE INDEX bench_points_geom ON bench_points USING gist (geom)")
    conn.execute("VACUUM ANALYZE bench_points")
    return time.perf_counter() - t0


def sample_ids(n: int, size: int = 1000) -> list[int]:
    """Evenly spaced point ids to compare grid by grid."""
    return list(range(1, n + 1, max(1, n // size)))


def reset_points(conn: psycopg.Connection[Any]) -> None:
    """Clear bench_points.grid_code and VACUUM ANALYZE: every timed variant starts alike."""
    conn.execute("UPDATE bench_points SET grid_code = NULL WHERE grid_code IS NOT NULL")
    conn.execute("VACUUM ANALYZE bench_points")


def written_result(
    conn: psycopg.Connection[Any], label: str, times: list[float], ids: list[int]
) -> BulkResult:
    """A variant's timings with what it wrote: the fingerprint and the sampled points' grids."""
    row = conn.execute(FINGERPRINT_SQL).fetchone()
    assert row is not None
    rows = conn.execute(
        "SELECT id, grid_code FROM bench_points WHERE id = ANY(%s)", (ids,)
    ).fetchall()
    return BulkResult(label, times, int(row[0]), str(row[1]), {int(i): g for i, g in rows})


def run_sql_variant(
    conn: psycopg.Connection[Any], label: str, query: LiteralString, ids: list[int], repeat: int
) -> BulkResult:
    """Reset, VACUUM ANALYZE, then time one UPDATE (autocommit: the commit is timed too)."""
    times = []
    for run in range(1, repeat + 1):
        with console.status(f"{label} ({run}/{repeat}): resetting"):
            reset_points(conn)
        with console.status(f"{label} ({run}/{repeat}): running"):
            t0 = time.perf_counter()
            conn.execute(query)
            times.append(time.perf_counter() - t0)
    return written_result(conn, label, times, ids)


def run_shapely(
    conn: psycopg.Connection[Any], ids: list[int], repeat: int
) -> tuple[BulkResult, float]:
    """Shapely 2 STRtree over the grid polygons, all points in one vectorised query.

    Returns the result (time of the query alone) and the seconds spent loading from the database.
    """
    label = "in-memory bound: Shapely STRtree.query"
    with console.status(f"{label}: loading"):
        t0 = time.perf_counter()
        cur = conn.cursor(binary=True)  # bytea arrives as bytes, no hex decoding
        grids = cur.execute(
            "SELECT code, ST_AsBinary(geom) FROM areas "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code"
        ).fetchall()
        pts = cur.execute("SELECT id, ST_AsBinary(geom) FROM bench_points ORDER BY id").fetchall()
        codes = np.array([c for c, _ in grids])
        polygons = shapely.from_wkb(np.array([w for _, w in grids], dtype=object))
        point_ids = np.fromiter((i for i, _ in pts), dtype=np.int64, count=len(pts))
        points = shapely.from_wkb(np.array([w for _, w in pts], dtype=object))
        del pts
        tree = shapely.STRtree(polygons)
        tree.query(points[:1])  # GEOS builds the tree lazily: build it before the clock starts
        load_s = time.perf_counter() - t0
    times = []
    for run in range(1, repeat + 1):
        with console.status(f"{label} ({run}/{repeat}): querying"):
            t0 = time.perf_counter()
            # covered_by, not within: like ST_Covers, a point on a grid's edge belongs to it
            pairs = tree.query(points, predicate="covered_by")
            times.append(time.perf_counter() - t0)
    # lowest code wins on a shared edge; polygons are in code order, so the lowest tree index
    best = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, pairs[0], pairs[1])
    hit = best != np.iinfo(np.int64).max
    by_id = dict(zip(point_ids.tolist(), range(len(point_ids)), strict=True))
    sample = {i: (str(codes[best[by_id[i]]]) if hit[by_id[i]] else None) for i in ids}
    return BulkResult(label, times, int(hit.sum()), None, sample), load_s


def bulk_table(results: list[BulkResult], n: int, repeat: int) -> Table:
    """Throughput of each variant against the naive join."""
    runs = f", median of {repeat} runs" if repeat > 1 else ""
    table = Table(title=f"Bulk assignment of {n:,} random points{runs}", title_justify="left")
    table.add_column("variant")
    columns = ["seconds", "points/s", "× naive", "assigned"]
    if repeat > 1:
        columns.insert(1, "min–max s")
    for name in columns:
        table.add_column(name, justify="right")
    naive = results[0].seconds
    for r in results:
        cells = [f"{r.seconds:.2f}", f"{n / r.seconds:,.0f}", f"{naive / r.seconds:.2f}"]
        if repeat > 1:
            cells.insert(1, f"{min(r.times):.2f}–{max(r.times):.2f}")
        table.add_row(r.label, *cells, f"{r.assigned:,}")
    return table


def agreement(results: list[BulkResult]) -> list[str]:
    """Warning lines where a variant disagrees with the naive join (count, fingerprint, sample)."""
    ref = results[0]
    warnings = []
    for r in results[1:]:
        if r.assigned != ref.assigned:
            warnings.append(f"{r.label}: assigned {r.assigned:,}, naive join {ref.assigned:,}")
        if r.fingerprint is not None and r.fingerprint != ref.fingerprint:
            warnings.append(f"{r.label}: different grids from the naive join (table fingerprint)")
        differ = [i for i in ref.sample if r.sample.get(i) != ref.sample[i]]
        if differ:
            i = differ[0]
            warnings.append(
                f"{r.label}: {len(differ)} of {len(ref.sample)} sampled points in another grid "
                f"(e.g. point {i}: {r.sample.get(i)} vs {ref.sample[i]})"
            )
    return warnings


def explain(conn: psycopg.Connection[Any], title: str, query: LiteralString, **params: Any) -> None:
    """Print a plan (EXPLAIN without ANALYZE unless the template asks for it)."""
    stmt = sql.SQL("EXPLAIN {}").format(sql.SQL(query))
    lines = [str(r[0]) for r in conn.execute(stmt, params or None).fetchall()]
    console.rule(title, align="left")
    console.print(Text("\n".join(lines)), soft_wrap=True, highlight=False)


def bulk_runs(conn: psycopg.Connection[Any], n: int, repeat: int, show_plans: bool) -> None:
    """Load n points, time every variant, print the table and any disagreement."""
    with console.status(f"loading {n:,} points"):
        load_s = load_points(conn, n)
    console.print(f"loaded {n:,} points into bench_points (with GiST index) in {load_s:.1f} s")
    ids = sample_ids(n)
    results = [run_sql_variant(conn, label, q, ids, repeat) for label, q in SQL_VARIANTS]
    shapely_result, shapely_load_s = run_shapely(conn, ids, repeat)
    results.append(shapely_result)
    console.print(bulk_table(results, n, repeat))
    console.print(
        f"[dim]Shapely: loading {n:,} points + 10,000 grids from PostGIS and building the tree "
        f"took {shapely_load_s:.1f} s, not counted above.[/]"
    )
    warnings = agreement(results)
    for line in warnings:
        console.print(f"[bold yellow]warning:[/] {line}")
    if not warnings:
        console.print(
            f"all variants agree: {results[0].assigned:,} points assigned, "
            f"same grid for {len(ids):,} sampled points, "
            "same table fingerprint for the SQL variants"
        )
    if show_plans:
        explain(conn, "EXPLAIN grid-driven (GridGov)", GRID_DRIVEN_SQL)
        explain(conn, "EXPLAIN point-driven (GridGov)", POINT_DRIVEN_SQL)


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.assign", description=__doc__.split("\n")[0])
    p.add_argument(
        "--reports", type=int, default=2000, help="sequential calls per latency row (0: skip)"
    )
    p.add_argument(
        "--points", type=int, default=1_000_000, help="random points for bulk assignment (0: skip)"
    )
    p.add_argument("--buildings-per-grid", type=int, default=2, help="footprints per grid")
    p.add_argument(
        "--repeat", type=int, default=1, help="timed runs per bulk variant (the median is shown)"
    )
    p.add_argument("--explain", action="store_true", help="print the query plans as well")
    return p.parse_args(argv)


def world_table(h: Any, build_s: float, buildings_s: float) -> Table:
    """What the synthetic district holds and how long it took to make."""
    t = Table(title="Synthetic district", title_justify="left")
    t.add_column("what")
    t.add_column("rows", justify="right")
    for level in ("district", "street", "community", "grid"):
        t.add_row(f"areas: {level}", f"{h.areas.get(level, 0):,}")
    t.add_row("area_parts (trigger)", f"{h.area_parts:,}")
    t.add_row("departments / categories / rules", f"{h.departments}/{h.categories}/{h.rules}")
    t.add_row("buildings", f"{h.buildings:,}")
    t.add_row("generated in (s)", f"{build_s:.1f}")
    t.add_row("buildings → grids, ASSIGN_BUILDINGS_SQL (s)", f"{buildings_s:.2f}")
    return t


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns an exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    with bench_database() as url:
        console.print(f"[bold]GridGov assignment benchmark[/] · {machine_line(url)}")
        with psycopg.connect(url, autocommit=True) as conn:
            with console.status("generating the synthetic district"):
                t0 = time.perf_counter()
                hierarchy = build_hierarchy(conn, args.buildings_per_grid)
                build_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                with conn.transaction():
                    assign_buildings_to_grids(conn)
                buildings_s = time.perf_counter() - t0
                conn.execute("VACUUM ANALYZE")
            console.print(world_table(hierarchy, build_s, buildings_s))
            if args.explain:
                lon, lat = (float(v) for v in random_points(1, seed=3)[0])
                explain(
                    conn,
                    f"EXPLAIN ANALYZE of ASSIGN_SQL at ({lon:.5f}, {lat:.5f})",
                    sql_analyze(ASSIGN_SQL),
                    **assign_params(lon, lat, REPORT_CATEGORIES[0]),
                )
        if args.reports > 0:
            runs = latency_runs(url, args.reports)
            console.print(latency_table("Single-report latency (sequential, one client)", runs))
        if args.points > 0:
            with psycopg.connect(url, autocommit=True) as conn:
                bulk_runs(conn, args.points, max(1, args.repeat), args.explain)
    elapsed = time.perf_counter() - started
    load = os.getloadavg()[0]
    console.print(f"[dim]total run time {elapsed:.0f} s · load average at the end {load:.2f}[/]")
    return 0


def sql_analyze(query: LiteralString) -> LiteralString:
    """The query prefixed for EXPLAIN ANALYZE (read-only queries only: it runs them)."""
    return "(ANALYZE, BUFFERS) " + query


if __name__ == "__main__":
    raise SystemExit(main())
