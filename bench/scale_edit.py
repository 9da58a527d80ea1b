"""`python -m bench scale --edit-open N`: a boundary edit that re-assigns N open incidents.

Opens N cases in one busy grid (N closed cases of the year are moved to random points of that
grid and set back to `in_progress`, with the grid's assignment: a set-based UPDATE, so the
database is changed — run it on a copy), then splits that grid in two along a north–south line
through its middle with `POST /api/v1/areas/{code}/split` on the real app: one transaction that
closes the grid's version, inserts the two new grids, re-derives the buildings' grids, and
assigns every open incident near the grid again, updating the ones that move with a `reassign`
event each (api.services.boundaries.impact). Times the request, counts what moved, and
measures the CPU the request cost: the server's processes and the database's (the postmaster's
tree: on a shared machine the wall time follows the load average, the CPU time does not).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from api.services.identity.auth import add_user, create_token
from bench.common import console
from bench.cpu import Cpu, postmaster_pid
from bench.servers import Server

# The busiest grid of the year, its current version and bounds.
BUSY_GRID_SQL = """
SELECT a.code, ST_XMin(a.geom) AS x0, ST_YMin(a.geom) AS y0, ST_XMax(a.geom) AS x1,
       ST_YMax(a.geom) AS y1
FROM (SELECT grid_code FROM incidents WHERE grid_code IS NOT NULL
      GROUP BY grid_code ORDER BY count(*) DESC LIMIT 1) g
JOIN areas a ON a.code = g.grid_code AND a.valid_to IS NULL
"""

# N closed cases become open cases at random points of the grid, assigned to it (the columns of
# one case already inside it). ST_GeneratePoints is seeded: the same points every run.
OPEN_CASES_SQL = """
WITH grid AS (SELECT geom FROM areas WHERE code = %(code)s AND valid_to IS NULL),
pts AS (
    SELECT row_number() OVER () AS rn, d.geom
    FROM grid, ST_Dump(ST_GeneratePoints(grid.geom, %(n)s, 13)) d
),
victims AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM (
        SELECT id FROM incidents WHERE status = 'closed' AND grid_code <> %(code)s
        ORDER BY id LIMIT %(n)s) v
),
tmpl AS (
    SELECT * FROM incidents WHERE grid_code = %(code)s AND method = 'inside' LIMIT 1
)
UPDATE incidents i SET
    geom = p.geom, status = 'in_progress', closed_at = NULL, method = 'inside', distance_m = 0,
    building_id = NULL, grid_code = t.grid_code, community_code = t.community_code,
    street_code = t.street_code, district_code = t.district_code,
    responsible_area_code = t.responsible_area_code, grid_version_id = t.grid_version_id,
    community_version_id = t.community_version_id, street_version_id = t.street_version_id,
    district_version_id = t.district_version_id, department_code = t.department_code,
    rule_id = t.rule_id, assignment = t.assignment
FROM victims v JOIN pts p USING (rn) CROSS JOIN tmpl t
WHERE i.id = v.id
"""


@dataclass
class EditRun:
    """One timed split of the busy grid."""

    grid: str
    open_in_grid: int
    seconds: float
    moved: int
    status: int
    server_cpu: float  # s, the app's processes during the request
    db_cpu: float | None  # s, the database's processes (None: not on this machine)
    load: float  # 1-minute load average after the request


def boundary_edit(server: Server, url: str, n: int) -> EditRun:
    """Open `n` cases in the busiest grid, then split it over HTTP as an admin; time it."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        name = f"bench-editor-{os.getpid()}"
        add_user(conn, name, "admin", None, None)
        headers = {"Authorization": f"Bearer {create_token(conn, name)}"}
        grid: dict[str, Any] | None = conn.execute(BUSY_GRID_SQL).fetchone()
        assert grid is not None
        with console.status(f"opening {n:,} cases in grid {grid['code']}"):
            conn.execute(OPEN_CASES_SQL, {"code": grid["code"], "n": n})
            conn.commit()
            conn.execute("ANALYZE incidents")
        row = conn.execute(
            "SELECT count(*) AS n FROM incidents WHERE grid_code = %s AND closed_at IS NULL "
            "AND status <> 'rejected'",
            (grid["code"],),
        ).fetchone()
        open_in_grid = int(row["n"]) if row else 0
    mid = (grid["x0"] + grid["x1"]) / 2
    line = {
        "type": "LineString",
        "coordinates": [[mid, grid["y0"] - 0.001], [mid, grid["y1"] + 0.001]],
    }
    cpu = Cpu(server.pid, postmaster_pid(url))
    with httpx.Client(base_url=server.base, headers=headers, timeout=600) as c:
        etag = c.get(f"/api/v1/areas/{grid['code']}").headers["etag"]
        before = cpu.now()
        t0 = time.perf_counter()
        r = c.post(
            f"/api/v1/areas/{grid['code']}/split",
            json={"type": "Feature", "geometry": line, "properties": {"note": "bench"}},
            headers={"If-Match": etag},
        )
        seconds = time.perf_counter() - t0
        server_cpu, db_cpu = cpu.since(before)
    moved = len(r.json().get("impact", {}).get("incidents", [])) if r.status_code == 200 else 0
    return EditRun(
        grid["code"],
        open_in_grid,
        seconds,
        moved,
        r.status_code,
        server_cpu,
        db_cpu,
        os.getloadavg()[0],
    )
