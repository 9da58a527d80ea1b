"""A small synthetic governance world with every case the assignment rules distinguish.

All boxes are lon/lat degrees near 116.0E 39.0N (1e-3 deg lon ≈ 86 m, lat ≈ 111 m):

    district 110199 [116.00,39.00]-[116.10,39.10]
      street 110199001 (west half)            street 110199002 [116.05,39.00]-[116.10,39.05]
        community 110199001001 (south half)   (no communities; the NE quarter of the
          grid ...001 [116.000,116.025]        district belongs to no street)
          grid ...002 [116.025,116.049]  ← a ~86 m strip of the community has no grid
        community 110199001002 (north half, no grids)
    district 650199 [80.00,40.00]-[80.10,40.10] (west of 90E, so swapped lat/lon is testable)
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """WKT MultiPolygon of a lon/lat box."""
    return f"MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


AREAS = [
    # code, parent, name, level, box; grid 002 is inserted before 001 on purpose (tie-break test)
    ("110199", None, "测试区", "district", (116.00, 39.00, 116.10, 39.10)),
    ("110199001", "110199", "甲街道", "street", (116.00, 39.00, 116.05, 39.10)),
    ("110199002", "110199", "乙街道", "street", (116.05, 39.00, 116.10, 39.05)),
    ("110199001001", "110199001", "一社区", "community", (116.00, 39.00, 116.05, 39.05)),
    ("110199001002", "110199001", "二社区", "community", (116.00, 39.05, 116.05, 39.10)),
    ("110199001001002", "110199001001", "一社区第2网格", "grid", (116.025, 39.00, 116.049, 39.05)),
    ("110199001001001", "110199001001", "一社区第1网格", "grid", (116.00, 39.00, 116.025, 39.05)),
    ("650199", None, "西部测试区", "district", (80.00, 40.00, 80.10, 40.10)),
]

DEPARTMENTS = [
    ("D-110199", "测试区人民政府", "territorial", "110199"),
    ("S-110199001", "甲街道办事处", "territorial", "110199001"),
    ("CITYMGMT", "城市管理委员会", "functional", "110199"),
    ("CITYMGMT-001", "城管执法甲街道分队", "functional", "110199001"),
    ("SANITATION", "环卫中心", "functional", "110199"),
    ("WATER", "自来水公司", "functional", "110199"),
]

CATEGORIES = [
    # code, parent, name, kind, limit, unit, urgency
    ("SJ01", None, "市容环境", "event", None, None, "normal"),
    ("SJ0102", "SJ01", "暴露垃圾", "event", 1, "working_days", "normal"),
    ("BJ01", None, "公用设施", "component", None, None, "normal"),
    ("BJ0101", "BJ01", "上水井盖", "component", 6, "natural_hours", "critical"),
    ("SH01", None, "矛盾纠纷", "event", None, None, "normal"),
    ("SH0101", "SH01", "邻里纠纷", "event", 5, "working_days", "normal"),
]

RULES = [
    # category prefix, area prefix, department, priority
    ("SJ", "", "CITYMGMT", 0),
    ("SJ0102", "", "SANITATION", 0),
    ("SJ", "110199001", "CITYMGMT-001", 0),
    ("BJ01", "110199001", "WATER", 5),
    ("BJ01", "110199001", "CITYMGMT", 1),
]

BUILDINGS = [
    # source id, name, box, grid
    ("b1", "一号楼", (116.0240, 39.0100, 116.0245, 39.0110), "110199001001001"),
    # straddles the G1/G2 edge; the survey put it in grid 002
    ("b2", "跨界楼", (116.0248, 39.0300, 116.0256, 39.0310), "110199001001002"),
]


def load_world(conn: Connection[Any]) -> None:
    """Insert the world (areas, reference data, buildings) in one transaction."""
    with conn.transaction():
        for code, parent, name, level, b in AREAS:
            rank = ["district", "street", "community", "grid"].index(level) + 1
            conn.execute(
                "INSERT INTO areas (code, parent_code, name, level, level_rank, geom) "
                "VALUES (%s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
                (code, parent, name, level, rank, box(*b)),
            )
        for row in DEPARTMENTS:
            conn.execute(
                "INSERT INTO departments (code, name, kind, area_code) VALUES (%s, %s, %s, %s)",
                row,
            )
        for row in CATEGORIES:
            conn.execute(
                "INSERT INTO categories (code, parent_code, name, kind, time_limit, time_unit, "
                "urgency) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                row,
            )
        for row in RULES:
            conn.execute(
                "INSERT INTO routing_rules (category_prefix, area_prefix, department_code, "
                "priority) VALUES (%s, %s, %s, %s)",
                row,
            )
        for sid, name, b, grid in BUILDINGS:
            conn.execute(
                "INSERT INTO buildings (source, source_id, name, geom, grid_code) "
                "VALUES ('test', %s, %s, ST_GeomFromText(%s, 4326), %s)",
                (sid, name, box(*b), grid),
            )
