"""The one dataset every benchmark shares: the synthetic district, buildings, seeded incidents."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from bench.app import TABLE_SQL
from bench.synthetic import REPORT_CATEGORIES, Hierarchy, build_hierarchy, extent
from gis.assign import assign_buildings_to_grids
from gis.bulk_assign import assign_points_to_grids

SEED_TABLE_SQL = """
CREATE TEMP TABLE seed_points (id bigint PRIMARY KEY, geom geometry(Point, 4326) NOT NULL,
                               grid_code text) ON COMMIT DROP
"""
SEED_POINTS_SQL = """
INSERT INTO seed_points (id, geom)
SELECT nextval('incidents_id_seq'),
       ST_SetSRID(ST_MakePoint(%(x0)s + random() * %(w)s, %(y0)s + random() * %(h)s), 4326)
FROM generate_series(1, %(n)s)
"""

# Incidents as intake would store them for the `inside` case (no building, status reported or
# registered), assigned set-based through gis.bulk_assign; no event rows (no page reads them
# for the list). Public ids look like intake's (date-id).
SEED_INCIDENTS_SQL = """
INSERT INTO incidents (
    id, public_id, geom, orig_x, orig_y, orig_crs, category_code, description, source, status,
    method, grid_code, community_code, street_code, district_code, responsible_area_code,
    grid_version_id, community_version_id, street_version_id, district_version_id, assignment,
    reported_at, updated_at)
SELECT p.id, to_char(now(), 'YYYYMMDD') || '-' || lpad(p.id::text, 6, '0'), p.geom,
       ST_X(p.geom), ST_Y(p.geom), 'EPSG:4326', (%(cats)s::text[])[1 + p.id %% %(ncat)s],
       'bench', 'patrol', CASE WHEN p.id %% 3 = 0 THEN 'registered' ELSE 'reported' END,
       'inside', g.code, c.code, s.code, d.code, g.code, g.id, c.id, s.id, d.id,
       jsonb_build_object('grid', jsonb_build_object('code', g.code, 'name', g.name),
                          'method', 'inside', 'responsible_area', g.code),
       now() - (p.id %% 720) * interval '1 hour', now()
FROM seed_points p
JOIN areas g ON g.code = p.grid_code AND g.valid_to IS NULL
JOIN areas c ON c.code = g.parent_code AND c.valid_to IS NULL
JOIN areas s ON s.code = c.parent_code AND s.valid_to IS NULL
JOIN areas d ON d.code = s.parent_code AND d.valid_to IS NULL
"""


@dataclass
class Dataset:
    """What was generated and how long each step took (seconds)."""

    hierarchy: Hierarchy
    incidents: int
    timings: dict[str, float]


def build_dataset(conn: Connection[Any], buildings_per_grid: int, incidents: int) -> Dataset:
    """10,000 grids, `buildings_per_grid` footprints per grid, `incidents` seeded incidents."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    hierarchy = build_hierarchy(conn, buildings_per_grid)
    timings["district + buildings generated"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with conn.transaction():
        assign_buildings_to_grids(conn)
    timings["buildings → grids (ASSIGN_BUILDINGS_SQL)"] = time.perf_counter() - t0
    x0, y0, x1, y1 = extent()
    t0 = time.perf_counter()
    with conn.transaction():
        conn.execute("SELECT setseed(0.7)")
        conn.execute(SEED_TABLE_SQL)
        box = {"x0": x0, "y0": y0, "w": x1 - x0, "h": y1 - y0, "n": incidents}
        conn.execute(SEED_POINTS_SQL, box)
        conn.execute("CREATE INDEX ON seed_points USING gist (geom)")
        conn.execute("ANALYZE seed_points")
        assign_points_to_grids(conn, "seed_points")
        cats = list(REPORT_CATEGORIES)
        seeded = conn.execute(SEED_INCIDENTS_SQL, {"cats": cats, "ncat": len(cats)}).rowcount
    timings[f"{seeded:,} incidents seeded (gis.bulk_assign)"] = time.perf_counter() - t0
    conn.execute(TABLE_SQL)
    conn.execute("VACUUM ANALYZE")
    return Dataset(hierarchy, seeded, timings)
