"""A synthetic district of 10,000 grids, generated set-based in SQL.

The lattice is `SIDE`×`SIDE` squares of DX×DY degrees (≈ 100 m × 100 m at 39.9N) from
(X0, Y0). Every edge is computed as `X0 + k * DX` with an integer k, whichever level asks, so
neighbours and parents share edges bit for bit and the hierarchy nests exactly:

    district 110198                      the whole lattice
      4 streets 110198001…004            2×2 quadrants of 50×50 grids
        25 communities per street        5×5 blocks of 10×10 grids (…001…025)
          100 grids per community        one cell each (…001…100), GB/T-style 15-digit codes

Reference data mirrors tests/world.py: territorial departments for the district and each street,
functional departments, a two-level category tree, and routing rules at every area level
(district-wide, per street, per community) so routing has real choices to make. Optionally each
grid gets a few small building footprints, assigned to grids with GridGov's own
ASSIGN_BUILDINGS_SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import Connection

X0, Y0 = 116.30, 39.90
DX, DY = 0.00117, 0.0009  # ≈ 99.9 m × 99.5 m at 39.9N
SIDE = 100  # grids per lattice side: SIDE² grids
STREET_SIDE = 50  # grids per street side (2×2 streets)
COMMUNITY_SIDE = 10  # grids per community side (5×5 communities per street)
DISTRICT = "110198"

# One expression for every edge so shared edges are identical floats.
LATTICE = {"x0": X0, "y0": Y0, "dx": DX, "dy": DY, "district": DISTRICT}

AREAS_SQL = """
WITH cell AS (
    SELECT i, j,
           (j / %(ss)s) * 2 + (i / %(ss)s) + 1 AS s,
           ((j %% %(ss)s) / %(cs)s) * (%(ss)s / %(cs)s) + ((i %% %(ss)s) / %(cs)s) + 1 AS c,
           (j %% %(cs)s) * %(cs)s + (i %% %(cs)s) + 1 AS g
    FROM generate_series(0, %(side)s - 1) AS i, generate_series(0, %(side)s - 1) AS j
), box AS (
    -- the extent of each area, as integer lattice indices
    SELECT 1 AS rank, %(district)s AS code, NULL::text AS parent, '基准测试区' AS name,
           min(i) AS i0, max(i) + 1 AS i1, min(j) AS j0, max(j) + 1 AS j1
    FROM cell
    UNION ALL
    SELECT 2, %(district)s || lpad(s::text, 3, '0'), %(district)s, '第' || s || '街道',
           min(i), max(i) + 1, min(j), max(j) + 1
    FROM cell GROUP BY s
    UNION ALL
    SELECT 3, %(district)s || lpad(s::text, 3, '0') || lpad(c::text, 3, '0'),
           %(district)s || lpad(s::text, 3, '0'), '第' || s || '街道第' || c || '社区',
           min(i), max(i) + 1, min(j), max(j) + 1
    FROM cell GROUP BY s, c
    UNION ALL
    SELECT 4, %(district)s || lpad(s::text, 3, '0') || lpad(c::text, 3, '0')
              || lpad(g::text, 3, '0'),
           %(district)s || lpad(s::text, 3, '0') || lpad(c::text, 3, '0'),
           '第' || s || '街道第' || c || '社区第' || g || '网格', i, i + 1, j, j + 1
    FROM cell
)
INSERT INTO areas (code, parent_code, name, level, level_rank, geom)
SELECT code, parent, name, (ARRAY['district', 'street', 'community', 'grid'])[rank], rank,
       ST_Multi(ST_MakeEnvelope(
           %(x0)s::float8 + i0 * %(dx)s::float8, %(y0)s::float8 + j0 * %(dy)s::float8,
           %(x0)s::float8 + i1 * %(dx)s::float8, %(y0)s::float8 + j1 * %(dy)s::float8, 4326))
FROM box
ORDER BY rank, code
"""

DEPARTMENTS_SQL = """
INSERT INTO departments (code, name, kind, area_code)
SELECT 'D-' || %(district)s, '基准测试区人民政府', 'territorial', %(district)s
UNION ALL
SELECT 'S-' || code, name || '办事处', 'territorial', code FROM areas WHERE level = 'street'
UNION ALL
SELECT 'CITYMGMT-' || right(code, 3), name || '城管执法分队', 'functional', code
FROM areas WHERE level = 'street'
UNION ALL
SELECT * FROM (VALUES ('CITYMGMT', '城市管理委员会', 'functional', %(district)s),
                      ('SANITATION', '环卫中心', 'functional', %(district)s),
                      ('WATER', '自来水公司', 'functional', %(district)s),
                      ('GREENING', '园林绿化局', 'functional', %(district)s)) AS v
"""

CATEGORIES = [
    # code, parent, name, kind, limit, unit, urgency
    ("SJ01", None, "市容环境", "event", None, None, "normal"),
    ("SJ0101", "SJ01", "私搭乱建", "event", 5, "working_days", "normal"),
    ("SJ0102", "SJ01", "暴露垃圾", "event", 1, "working_days", "normal"),
    ("BJ01", None, "公用设施", "component", None, None, "normal"),
    ("BJ0101", "BJ01", "上水井盖", "component", 6, "natural_hours", "critical"),
    ("BJ0102", "BJ01", "路灯", "component", 2, "working_days", "normal"),
    ("YL01", None, "园林绿化", "component", None, None, "normal"),
    ("YL0101", "YL01", "行道树", "component", 3, "working_days", "normal"),
    ("SH01", None, "矛盾纠纷", "event", None, None, "normal"),
    ("SH0101", "SH01", "邻里纠纷", "event", 5, "working_days", "normal"),
    ("QT01", None, "其他", "event", None, None, "normal"),
    ("QT0101", "QT01", "其他事项", "event", 10, "working_days", "normal"),  # no rule: 属地兜底
]

# Leaf categories that reports are drawn from.
REPORT_CATEGORIES = [c[0] for c in CATEGORIES if c[1] is not None]

RULES_SQL = """
INSERT INTO routing_rules (category_prefix, area_prefix, department_code, priority)
SELECT * FROM (VALUES ('SJ', '', 'CITYMGMT', 0), ('SJ0102', '', 'SANITATION', 0),
                      ('YL', '', 'GREENING', 0), ('BJ01', '', 'WATER', 0)) AS v
UNION ALL
SELECT 'SJ', code, 'CITYMGMT-' || right(code, 3), 0 FROM areas WHERE level = 'street'
UNION ALL
SELECT 'BJ0102', code, 'CITYMGMT-' || right(code, 3), 5 FROM areas WHERE level = 'street'
UNION ALL
-- one rule per community: neighbourhood disputes go to the street office
SELECT 'SH', code, 'S-' || parent_code, 0 FROM areas WHERE level = 'community'
"""

BUILDINGS_SQL = """
-- k footprints of ≈ 20 m × 20 m per grid, placed in the middle 80 %% of the cell so that they
-- never cross a grid edge; footprints in one cell may overlap (the lowest id wins then).
INSERT INTO buildings (source, source_id, name, geom)
SELECT 'bench', i || '-' || j || '-' || k, '楼' || i || '-' || j || '-' || k,
       ST_Multi(ST_MakeEnvelope(x, y, x + %(bw)s, y + %(bh)s, 4326))
FROM generate_series(0, %(side)s - 1) AS i, generate_series(0, %(side)s - 1) AS j,
     generate_series(1, %(k)s) AS k,
     LATERAL (SELECT %(x0)s::float8 + (i + 0.1 + random() * 0.6) * %(dx)s::float8 AS x,
                     %(y0)s::float8 + (j + 0.1 + random() * 0.6) * %(dy)s::float8 AS y) AS o
"""


@dataclass
class Hierarchy:
    """How much was generated."""

    areas: dict[str, int]
    area_parts: int
    departments: int
    categories: int
    rules: int
    buildings: int


def extent() -> tuple[float, float, float, float]:
    """The lattice's bounding box (lon0, lat0, lon1, lat1)."""
    return X0, Y0, X0 + SIDE * DX, Y0 + SIDE * DY


def build_hierarchy(conn: Connection[Any], buildings_per_grid: int) -> Hierarchy:
    """Insert areas, reference data and buildings in one transaction (seeded: repeatable)."""
    with conn.transaction():
        conn.execute("SELECT setseed(0.2026)")
        conn.execute(
            AREAS_SQL,
            {**LATTICE, "side": SIDE, "ss": STREET_SIDE, "cs": COMMUNITY_SIDE},
        )
        conn.execute(DEPARTMENTS_SQL, LATTICE)
        conn.cursor().executemany(
            "INSERT INTO categories (code, parent_code, name, kind, time_limit, time_unit, "
            "urgency) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            CATEGORIES,
        )
        conn.execute(RULES_SQL)
        if buildings_per_grid > 0:
            conn.execute(
                BUILDINGS_SQL,
                {**LATTICE, "side": SIDE, "k": buildings_per_grid, "bw": DX / 5, "bh": DY / 5},
            )

    def scalar(query: str) -> int:
        row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0])

    levels = conn.execute("SELECT level, count(*) FROM areas GROUP BY level").fetchall()
    return Hierarchy(
        areas={str(level): int(n) for level, n in levels},
        area_parts=scalar("SELECT count(*) FROM area_parts"),
        departments=scalar("SELECT count(*) FROM departments"),
        categories=scalar("SELECT count(*) FROM categories"),
        rules=scalar("SELECT count(*) FROM routing_rules"),
        buildings=scalar("SELECT count(*) FROM buildings"),
    )
