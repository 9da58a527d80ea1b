"""`gridgov demo`: real OSM-derived Haidian data, a category catalogue and demo incidents.

Besides today's reports, api/services/demo_history.py adds three months of cases taken through
the workflow (statistics, the negative list, overdue cases, a whistle) and work for each demo user.

Idempotent: areas and buildings re-import as unchanged, configuration upserts, and demo
incidents carry fixed Idempotency-Keys, so running it again duplicates nothing.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import Connection
from shapely.geometry import Point, shape

from api.schemas.incidents import IncidentIn, LonLat, Reporter
from api.services.basemap.osm_import import ImportResult, import_basemap
from api.services.boundaries.imports import ImportReport, import_areas, import_buildings
from api.services.demo_history import HISTORY_INCIDENTS, HistoryReport, load_history
from api.services.identity.auth import add_user
from api.services.identity.sessions import set_password
from api.services.intake.config_import import import_config
from api.services.intake.report import report_incident
from api.settings import Settings

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DATA_DIR = DEMO_DIR / "data"
LEVEL_FILES = [
    ("district", "districts.geojson"),
    ("street", "streets.geojson"),
    ("community", "communities.geojson"),
    ("grid", "grids.geojson"),
]

# (category, description) pairs for demo incidents; descriptions say they are demo data.
DEMO_REPORTS = [
    ("SJ0102", "路边有一堆暴露垃圾"),
    ("BJ0101", "上水井盖缺失，有行人跌落风险"),
    ("SJ0504", "机动车占用消防车道停放"),
    ("SH0201", "楼道堆放杂物堵塞消防通道"),
    ("SH0101", "楼上楼下噪音纠纷，需要调解"),
    ("SH0301", "独居老人多日未出门，请网格员上门查看"),
    ("SH0401", "居民情绪低落，请求心理疏导"),
    ("SJ0502", "早高峰占道经营"),
    ("BJ0115", "路灯不亮"),
    ("SH0202", "电动自行车在楼道内充电"),
    ("BJ0403", "行道树倾斜"),
    ("SJ0405", "雨后道路积水"),
]
DEMO_INCIDENTS = 48


@dataclass
class DemoReport:
    """What `gridgov demo` loaded."""

    areas: dict[str, ImportReport] = field(default_factory=dict)
    buildings: ImportReport | None = None
    community_departments: int = 0
    incidents_created: int = 0
    incidents_existing: int = 0
    new_users: list[tuple[str, str, str]] = field(default_factory=list)  # name, role, password
    basemap: ImportResult | None = None
    history: HistoryReport | None = None


def _community_departments(conn: Connection[Any]) -> int:
    """One territorial department (社区居委会) per current community."""
    rows = conn.execute(
        "SELECT code, name FROM areas WHERE level = 'community' AND valid_to IS NULL"
    ).fetchall()
    for r in rows:
        conn.execute(
            "INSERT INTO departments (code, name, kind, area_code) "
            "VALUES (%s, %s, 'territorial', %s) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name",
            (f"C-{r['code']}", f"{r['name']}居民委员会", r["code"]),
        )
    return len(rows)


def _demo_points(n: int, seed: int = 20261125) -> list[tuple[float, float]]:
    """Deterministic points inside demo grids (same every run, so keys stay stable)."""
    grids = json.loads((DATA_DIR / "grids.geojson").read_text(encoding="utf-8"))["features"]
    rng = random.Random(seed)
    points: list[tuple[float, float]] = []
    while len(points) < n:
        geom = shape(rng.choice(grids)["geometry"])
        x0, y0, x1, y1 = geom.bounds
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if geom.contains(p):
            points.append((round(p.x, 7), round(p.y, 7)))
    return points


# One user per role, so the pages can be tried at once. Passwords are random and printed once
# (at creation); `gridgov user password NAME` sets a new one.
DEMO_USERS = [
    ("demo-admin", "admin", None, None),
    ("demo-dispatcher", "dispatcher", "110108010", None),  # 学院路街道 sub-centre
    ("demo-cgzf", "department", None, "CGZF-010"),  # 学院路街道综合行政执法队
]


def _demo_users(conn: Connection[Any]) -> list[tuple[str, str, str]]:
    """Create the missing demo users (plus an officer of the first demo grid); new passwords."""
    grid = conn.execute(
        "SELECT code FROM areas WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
    ).fetchone()
    wanted = [*DEMO_USERS, ("demo-officer", "officer", grid["code"] if grid else None, None)]
    created = []
    for name, role, area, department in wanted:
        if conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone():
            continue
        add_user(conn, name, role, area, department)
        password = secrets.token_urlsafe(12)
        set_password(conn, name, password)
        created.append((name, role, password))
    return created


def load_demo(conn: Connection[Any], settings: Settings) -> DemoReport:
    """Load (or refresh) the demo: config, areas, buildings, community offices, incidents."""
    out = DemoReport()
    import_config(conn, DEMO_DIR / "config.yaml")
    for level, name in LEVEL_FILES:
        out.areas[level] = import_areas(
            conn, DATA_DIR / name, level=level, actor="demo", note="GridGov demo data (OSM-derived)"
        )
    with conn.transaction():
        out.community_departments = _community_departments(conn)
    out.buildings = import_buildings(
        conn, DATA_DIR / "buildings.geojson", source="osm", id_field="osm_id"
    )
    for i, (lon, lat) in enumerate(_demo_points(DEMO_INCIDENTS)):
        category, text = DEMO_REPORTS[i % len(DEMO_REPORTS)]
        report = IncidentIn(
            category=category,
            description=f"[演示 DEMO] {text}",
            location=LonLat(lon=lon, lat=lat),
            source=("resident", "patrol", "hotline")[i % 3],
            reporter=Reporter(name="演示用户 Demo"),
        )
        with conn.transaction():
            result = report_incident(
                conn, settings, report, user=None, idempotency_key=f"demo-{i:03d}", is_demo=True
            )
        if result.created:
            out.incidents_created += 1
        else:
            out.incidents_existing += 1
    with conn.transaction():
        out.new_users = _demo_users(conn)
    # three months of cases through the workflow, and today's work for each demo user
    points = _demo_points(HISTORY_INCIDENTS, seed=20261205)
    out.history = load_history(conn, settings, points, DEMO_REPORTS)
    with conn.transaction():  # the base map: the OSM extracts the demo areas come from
        out.basemap = import_basemap(conn, sorted((DATA_DIR / "osm").glob("*.osm.pbf")))
    return out
