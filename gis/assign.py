"""Spatial assignment: a point → building, grid and its ancestors, and the responsible department.

Everything is decided in one SQL round trip (`ASSIGN_SQL`). The rules, in order:

1. A building whose footprint covers the point and whose grid is known: its grid (method
   `building`). Overlapping footprints: the lowest building id wins.
2. Else the lowest-level current area covering the point. If it is a grid: method `inside`.
   A point exactly on an edge shared by two areas of the same level goes to the one with the
   lowest code — always the same one, whatever order rows come in.
3. Else the nearest grid within `nearest_grid_m` metres (method `nearest`), provided it belongs to
   the area covering the point (a community with no grids keeps its own points).
4. Else the lowest area covering the point holds responsibility (method `outside`).
5. Else the point is outside the service area (an error; the caller is told if swapping
   lat/lon would have landed inside).

The department: the routing rule whose area prefix matches one of the point's areas most
specifically (longest prefix), then the longest category prefix, then the highest priority, then
the lowest rule id. No rule → the territorial department serving the point's street (属地兜底),
else its district.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from gis.errors import InvalidCoordinates, OutsideServiceArea
from gis.topology import degrees_for

GRID_RANK = 4  # level_rank of `grid` (district=1 … grid=4)

# `anc`: the current area `n.code` and its ancestors (community, street, district), for a
# nearest grid that must lie below the area covering the point.
NEAR_CHAIN_SQL = """WITH RECURSIVE anc AS (
                SELECT a.code, a.parent_code, 0 AS depth FROM areas a
                WHERE a.code = n.code AND a.valid_to IS NULL
                UNION ALL
                SELECT a.code, a.parent_code, anc.depth + 1 FROM areas a
                JOIN anc ON a.code = anc.parent_code AND a.valid_to IS NULL
                WHERE anc.depth < 12
            )"""

ASSIGN_SQL = f"""
WITH RECURSIVE
pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
-- MATERIALIZED: each of these is a tiny indexed probe; keeping them separate stops the planner
-- from inlining them into the later joins and re-running the spatial predicate per row.
bld AS MATERIALIZED (
    SELECT b.id, b.name, b.address, b.grid_code
    FROM buildings b, pt
    WHERE b.grid_code IS NOT NULL AND ST_Covers(b.geom, pt.g)
    ORDER BY b.id
    LIMIT 1
),
cover AS MATERIALIZED (
    SELECT p.code, p.level_rank
    FROM area_parts p, pt
    WHERE ST_Covers(p.geom, pt.g)
    ORDER BY p.level_rank DESC, p.code
    LIMIT 1
),
-- KNN (<->) orders by planar distance in degrees, which at Chinese latitudes can rank two
-- close candidates differently from metres; take a few and rank them on the spheroid.
near AS MATERIALIZED (
    SELECT k.code, ST_Distance(k.geom::geography, pt.g::geography) AS d
    FROM pt, LATERAL (
        SELECT p.code, p.geom FROM area_parts p
        WHERE p.level_rank = 4
        ORDER BY p.geom <-> pt.g
        LIMIT 8
    ) k
    WHERE NOT EXISTS (SELECT 1 FROM bld)
      AND NOT EXISTS (SELECT 1 FROM cover WHERE cover.level_rank = 4)
),
near_ok AS (
    SELECT n.code, n.d FROM near n
    WHERE n.d <= %(nearest_m)s
      AND (NOT EXISTS (SELECT 1 FROM cover) OR EXISTS (
            {NEAR_CHAIN_SQL}
            SELECT 1 FROM anc JOIN cover ON cover.code = anc.code))
    ORDER BY n.d, n.code
    LIMIT 1
),
choice AS (
    SELECT CASE
               WHEN EXISTS (SELECT 1 FROM bld) THEN (SELECT grid_code FROM bld)
               WHEN EXISTS (SELECT 1 FROM cover WHERE level_rank = 4) THEN (SELECT code FROM cover)
               WHEN EXISTS (SELECT 1 FROM near_ok) THEN (SELECT code FROM near_ok)
               ELSE (SELECT code FROM cover)
           END AS code,
           CASE
               WHEN EXISTS (SELECT 1 FROM bld) THEN 'building'
               WHEN EXISTS (SELECT 1 FROM cover WHERE level_rank = 4) THEN 'inside'
               WHEN EXISTS (SELECT 1 FROM near_ok) THEN 'nearest'
               WHEN EXISTS (SELECT 1 FROM cover) THEN 'outside'
           END AS method
),
-- `= ANY (ARRAY[…])`, not `=`: the GiST exclusion index ex_areas_code_period cannot take it, so
-- the chain is read through the unique btree ix_areas_current_code (code, valid_to IS NULL). With
-- `=` the generic plan picks the GiST at an equal cost estimate: 0.62 → 0.45 ms of backend CPU
-- per assignment (docs/performance.md, 2026-11-26). The as-of variant turns them back into `=`.
up AS (
    SELECT a.id, a.code, a.name, a.level, a.parent_code, 0 AS depth
    FROM areas a JOIN choice c ON a.code = ANY (ARRAY[c.code])
    WHERE a.valid_to IS NULL
    UNION ALL
    SELECT a.id, a.code, a.name, a.level, a.parent_code, up.depth + 1
    FROM areas a JOIN up ON a.code = ANY (ARRAY[up.parent_code])
    WHERE a.valid_to IS NULL AND up.depth < 12
),
fallback AS (
    SELECT d.code, d.name FROM departments d JOIN up ON d.area_code = up.code
    WHERE d.kind = 'territorial' AND up.level IN ('street', 'district')
    ORDER BY up.depth, d.code
    LIMIT 1
),
wanted AS (
    SELECT %(category)s::text AS category, NULL::text AS name WHERE %(category)s::text IS NOT NULL
    UNION ALL
    SELECT c.code, c.name FROM categories c
    WHERE %(by_class)s AND c.parent_code IS NULL
      -- 4+X: a local major class only where it is offered (its area holds the point)
      AND (c.area_code IS NULL OR c.area_code IN (SELECT code FROM up))
),
routed AS (
    SELECT w.category, w.name AS category_name, r.id AS rule_id, r.category_prefix,
           r.area_prefix, r.priority,
           COALESCE(r.department_code, (SELECT code FROM fallback)) AS department_code
    FROM wanted w
    LEFT JOIN LATERAL (
        SELECT r.* FROM routing_rules r
        WHERE starts_with(w.category, r.category_prefix)
          AND (r.area_prefix = '' OR EXISTS (
                SELECT 1 FROM up WHERE starts_with(up.code, r.area_prefix)))
        ORDER BY length(r.area_prefix) DESC, length(r.category_prefix) DESC,
                 r.priority DESC, r.id
        LIMIT 1
    ) r ON true
),
nearby AS (
    -- The box is a cheap indexable prefilter, a little larger than near_m in degrees at this
    -- latitude; the spheroid distance then decides.
    SELECT p.code, min(ST_Distance(p.geom::geography, pt.g::geography)) AS d
    FROM area_parts p, pt
    WHERE p.level_rank = 4
      AND p.geom && ST_Expand(pt.g, %(near_dx)s, %(near_dy)s)
      AND p.code IS DISTINCT FROM (SELECT code FROM choice)
    GROUP BY p.code
    HAVING min(ST_Distance(p.geom::geography, pt.g::geography)) <= %(near_m)s
)
SELECT
    (SELECT method FROM choice) AS method,
    (SELECT code FROM choice) AS responsible_area_code,
    CASE (SELECT method FROM choice)
        WHEN 'nearest' THEN (SELECT d FROM near_ok)
        WHEN 'outside' THEN (SELECT min(d) FROM near)
        ELSE 0
    END AS distance_m,
    (SELECT jsonb_object_agg(level, jsonb_build_object(
        'code', code, 'name', name, 'version_id', id)) FROM up) AS levels,
    (SELECT jsonb_build_object('id', id, 'name', name, 'address', address) FROM bld) AS building,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
        'category', r.category, 'category_name', r.category_name,
        'department', CASE WHEN d.code IS NULL THEN NULL
                      ELSE jsonb_build_object('code', d.code, 'name', d.name) END,
        'rule', CASE WHEN r.rule_id IS NULL THEN NULL ELSE jsonb_build_object(
            'id', r.rule_id, 'category_prefix', r.category_prefix,
            'area_prefix', r.area_prefix, 'priority', r.priority) END
        ) ORDER BY r.category), '[]'::jsonb)
     FROM routed r LEFT JOIN departments d ON d.code = r.department_code) AS routes,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('code', code, 'distance_m', round(d::numeric, 2))
        ORDER BY d, code), '[]'::jsonb) FROM nearby) AS near_boundary,
    CASE WHEN NOT EXISTS (SELECT 1 FROM choice WHERE method IS NOT NULL) THEN EXISTS (
        SELECT 1 FROM area_parts p
        WHERE ST_Covers(p.geom, ST_SetSRID(ST_MakePoint(%(lat)s, %(lon)s), 4326)))
    END AS swapped_inside
"""  # noqa: S608 (NEAR_CHAIN_SQL is a constant)


# As of a past moment (`at`): the same rules over the versions valid then. History has no
# subdivided copy, so whole versions are probed through the GiST index on areas.geom (the
# subqueries below are flattened by the planner); a building's grid is the grid that held the
# building's interior point at that moment. Derived from ASSIGN_SQL so the rules cannot drift
# apart; each substitution must match exactly as often as expected, or import fails.
_VALID_AT = "a.valid_from <= %(at)s AND (a.valid_to IS NULL OR a.valid_to > %(at)s)"
_PARTS_AT = """FROM (
        SELECT a.code, a.level_rank, a.geom FROM areas a
        WHERE a.valid_from <= %(at)s AND (a.valid_to IS NULL OR a.valid_to > %(at)s)) p"""
_BUILDING_NOW = """SELECT b.id, b.name, b.address, b.grid_code
    FROM buildings b, pt
    WHERE b.grid_code IS NOT NULL AND ST_Covers(b.geom, pt.g)"""
_BUILDING_AT = """SELECT b.id, b.name, b.address, g.code AS grid_code
    FROM buildings b CROSS JOIN pt
    JOIN LATERAL (
        SELECT a.code FROM areas a
        WHERE a.level_rank = 4 AND ST_Covers(a.geom, ST_PointOnSurface(b.geom))
          AND a.valid_from <= %(at)s AND (a.valid_to IS NULL OR a.valid_to > %(at)s)
        ORDER BY a.code LIMIT 1) g ON true
    WHERE ST_Covers(b.geom, pt.g)"""


def _as_of(query: str) -> str:
    steps = [
        # history has no current-row btree: the GiST on (code, period) serves `=` only
        ("a.code = ANY (ARRAY[c.code])", "a.code = c.code", 1),
        ("a.code = ANY (ARRAY[up.parent_code])", "a.code = up.parent_code", 1),
        ("a.valid_to IS NULL", _VALID_AT, 4),
        ("FROM area_parts p", _PARTS_AT, 4),
        (_BUILDING_NOW, _BUILDING_AT, 1),
    ]
    for old, new, times in steps:
        if query.count(old) != times:
            raise RuntimeError(f"ASSIGN_SQL changed: update the as-of variant ({old[:40]!r})")
        query = query.replace(old, new)
    return query


ASSIGN_AT_SQL = _as_of(ASSIGN_SQL)


@dataclass
class Route:
    """The department responsible for one category at the point, and why."""

    category: str
    category_name: str | None
    department: dict[str, str] | None
    rule: dict[str, Any] | None


@dataclass
class Assignment:
    """Where a point belongs and who is responsible for it."""

    method: str
    responsible_area_code: str
    distance_m: float
    levels: dict[str, dict[str, Any]]
    building: dict[str, Any] | None
    near_boundary: list[dict[str, Any]]
    routes: list[Route] = field(default_factory=list)

    def version_id(self, level: str) -> int | None:
        """The area version id assigned at `level`, if any."""
        entry = self.levels.get(level)
        return int(entry["version_id"]) if entry else None

    def code(self, level: str) -> str | None:
        """The area code assigned at `level`, if any."""
        entry = self.levels.get(level)
        return str(entry["code"]) if entry else None

    def as_json(self, category: str | None = None) -> dict[str, Any]:
        """The `assignment` object returned to clients (department for `category`)."""
        route = next((r for r in self.routes if r.category == category), None) if category else None
        return {
            "grid": self.levels.get("grid"),
            "community": self.levels.get("community"),
            "street": self.levels.get("street"),
            "district": self.levels.get("district"),
            "responsible_area": self.responsible_area_code,
            "building": self.building,
            "department": route.department if route else None,
            "method": self.method,
            "distance_m": round(self.distance_m, 2),
            "near_boundary": self.near_boundary,
            "rule": route.rule if route else None,
        }


def check_lon_lat(lon: float, lat: float) -> None:
    """Refuse non-finite or out-of-range WGS 84 coordinates, hinting at swapped axes."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates("Coordinates must be finite numbers.", {"lon": lon, "lat": lat})
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = ""
        if abs(lat) > 90 and abs(lon) <= 90:
            hint = " They look swapped: send longitude as lon and latitude as lat."
        raise InvalidCoordinates(
            f"Longitude must be within -180..180 and latitude within -90..90.{hint}",
            {"lon": lon, "lat": lat},
        )


def assign_params(
    lon: float,
    lat: float,
    *,
    category: str | None,
    by_class: bool,
    nearest_m: float,
    near_m: float,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """ASSIGN_SQL's bound parameters for a WGS 84 point (checked first)."""
    check_lon_lat(lon, lat)
    # Degrees per metre at this latitude, padded by 10 % so the box never cuts the circle.
    dx, dy = degrees_for(near_m, lat)
    return {
        "at": at,
        "lon": lon,
        "lat": lat,
        "category": category,
        "by_class": by_class,
        "nearest_m": nearest_m,
        "near_m": near_m,
        "near_dx": dx,
        "near_dy": dy,
    }


def assignment_from(rec: dict[str, Any], lon: float, lat: float) -> Assignment:
    """The Assignment in one ASSIGN_SQL result row; OutsideServiceArea when nothing holds it."""
    if rec["method"] is None:
        message = "This location is outside the area GridGov serves."
        if rec["swapped_inside"]:
            message += " The coordinates look swapped: longitude and latitude may be reversed."
        raise OutsideServiceArea(
            message, {"lon": lon, "lat": lat, "looks_swapped": bool(rec["swapped_inside"])}
        )
    return Assignment(
        method=rec["method"],
        responsible_area_code=rec["responsible_area_code"],
        distance_m=float(rec["distance_m"] or 0.0),
        levels=rec["levels"] or {},
        building=rec["building"],
        near_boundary=[
            {"code": n["code"], "distance_m": float(n["distance_m"])} for n in rec["near_boundary"]
        ],
        routes=[Route(**r) for r in rec["routes"]],
    )


def assign_point(
    conn: Connection[Any],
    lon: float,
    lat: float,
    *,
    category: str | None = None,
    by_class: bool = False,
    nearest_m: float = 50.0,
    near_m: float = 10.0,
    at: dt.datetime | None = None,
) -> Assignment:
    """Assign a WGS 84 point in one round trip (as of `at`, when given); OutsideServiceArea when
    nothing holds it."""
    params = assign_params(
        lon, lat, category=category, by_class=by_class, nearest_m=nearest_m, near_m=near_m, at=at
    )
    row = conn.execute(ASSIGN_SQL if at is None else ASSIGN_AT_SQL, params, prepare=True).fetchone()
    assert row is not None
    rec = row if isinstance(row, dict) else dict(zip(ASSIGN_COLUMNS, row, strict=True))
    return assignment_from(rec, lon, lat)


ASSIGN_COLUMNS = (
    "method",
    "responsible_area_code",
    "distance_m",
    "levels",
    "building",
    "routes",
    "near_boundary",
    "swapped_inside",
)


# Each building belongs to the grid holding its interior point (ST_PointOnSurface is always
# inside the footprint); on a shared edge the lowest code wins, as for incidents.
# OFFSET 0 keeps `g` a real subquery: flattened, the planner copies the correlated grid lookup
# into both the SET and the IS DISTINCT FROM test and runs it twice per building.
ASSIGN_BUILDINGS_SQL = """
UPDATE buildings b SET grid_code = g.code
FROM (
    SELECT b2.id, (
        SELECT p.code FROM area_parts p
        WHERE p.level_rank = 4 AND ST_Covers(p.geom, ST_PointOnSurface(b2.geom))
        ORDER BY p.code LIMIT 1) AS code
    FROM buildings b2
    OFFSET 0
) g
WHERE g.id = b.id AND b.grid_code IS DISTINCT FROM g.code
"""


def assign_buildings_to_grids(conn: Connection[Any]) -> int:
    """Recompute every building's grid; returns how many changed."""
    return conn.execute(ASSIGN_BUILDINGS_SQL).rowcount
