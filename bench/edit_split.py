"""`python -m bench.edit_split --url <copy> [--open N] [--runs K]`: the boundary edit, CPU measured.

Splits the busiest grid (bench/scale_edit.py's split: a north–south line through its middle)
through the service, `api.services.boundaries.split.split_area`, on a connection set up as the
app's pool sets its own (generic plans, no JIT, orjson for json columns), inside a transaction
that is rolled back: the same database can be measured again and again, and before/after a code
change minutes apart. Prints per run the wall time, the database backend's CPU (/proc), this
process's CPU (the service's Python) and the load average, then the slowest statements.

`--open N` first opens N cases in that grid (bench/scale_edit.OPEN_CASES_SQL; committed: use a
copy of the dataset). `python -m bench scale --edit-open N` times the same split over HTTP once
per fresh copy; this one isolates the service from the HTTP layer and from cold buffers.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.db.session import _options, configure_connection
from api.services.boundaries.split import split_area
from api.services.identity.auth import User
from api.settings import Settings
from bench.cpu import cpu_seconds
from bench.scale_edit import BUSY_GRID_SQL, OPEN_CASES_SQL


def main(argv: list[str] | None = None) -> int:
    """Run the split `--runs` times, rolled back; print the figures."""
    p = argparse.ArgumentParser(prog="python -m bench.edit_split", description=__doc__)
    p.add_argument("--url", required=True, help="a copy of a scale dataset (bench/scale.py)")
    p.add_argument("--open", type=int, default=0, help="first open N cases in the grid (commits)")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args(argv)
    settings = Settings()
    kwargs: dict[str, Any] = {"prepare_threshold": 1_000_000, "options": _options(0)}
    with psycopg.connect(a.url, row_factory=dict_row, **kwargs) as conn:
        configure_connection(conn)
        grid = conn.execute(BUSY_GRID_SQL).fetchone()
        assert grid is not None
        if a.open:
            conn.execute(OPEN_CASES_SQL, {"code": grid["code"], "n": a.open})
            conn.commit()
            conn.execute("ANALYZE incidents")
            conn.commit()
        row = conn.execute(
            "SELECT id FROM areas WHERE code = %s AND valid_to IS NULL", (grid["code"],)
        ).fetchone()
        assert row is not None
        conn.commit()
        mid = (grid["x0"] + grid["x1"]) / 2
        line = {
            "type": "LineString",
            "coordinates": [[mid, grid["y0"] - 0.001], [mid, grid["y1"] + 0.001]],
        }
        user = User(id=0, name="bench-edit", role="admin", area_code=None, department_code=None)
        backend = conn.info.backend_pid
        spent: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
        original = psycopg.Cursor.execute

        def timed(cur: Any, query: Any, *args: Any, **kw: Any) -> Any:
            c0, w0 = cpu_seconds(backend), time.perf_counter()
            try:
                return original(cur, query, *args, **kw)
            finally:
                text = " ".join(str(query if isinstance(query, str) else "(composed)").split())
                spent[text[:60]][0] += cpu_seconds(backend) - c0
                spent[text[:60]][1] += time.perf_counter() - w0

        psycopg.Cursor.execute = timed  # type: ignore[method-assign]
        runs = []
        try:
            for k in range(a.runs):
                spent.clear()
                c0, w0, p0 = cpu_seconds(backend), time.perf_counter(), time.process_time()
                result = split_area(
                    conn, settings, user, grid["code"], line, names=None, note="bench",
                    versions=[row["id"]],
                )  # fmt: skip
                w1, c1, p1 = time.perf_counter(), cpu_seconds(backend), time.process_time()
                conn.rollback()
                runs.append((w1 - w0, c1 - c0, p1 - p0))
                print(
                    f"run {k + 1}: grid {grid['code']}, {len(result.impact.incidents):,} moved · "
                    f"wall {w1 - w0:.2f} s · database CPU {c1 - c0:.2f} s · Python CPU "
                    f"{p1 - p0:.2f} s · load average {os.getloadavg()[0]:.2f}"
                )
                for text, (cpu, wall) in sorted(spent.items(), key=lambda kv: -kv[1][0])[:4]:
                    print(f"    database CPU {cpu:.2f} s, wall {wall:.2f} s: {text}")
        finally:
            psycopg.Cursor.execute = original  # type: ignore[method-assign]
    walls, dbs, pys = zip(*runs, strict=True)
    print(
        f"median of {len(runs)}: wall {statistics.median(walls):.2f} s · database CPU "
        f"{statistics.median(dbs):.2f} s · Python CPU {statistics.median(pys):.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
