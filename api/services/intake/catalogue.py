"""4+X service catalogues: what may be reported where.

A category with no `area_code` is global; one with an `area_code` is a local ("X") service of
that area. The catalogue of an area is every global category plus the local ones of the area and
its ancestors; a sub-class also needs its major class to be in the catalogue (a local major class
makes all its sub-classes local).
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import BadRequest, CategoryNotAvailable, NotFound
from api.services.identity.access import ancestors
from api.settings import AssignmentSettings, Settings
from gis.assign import Assignment, assign_point

AREA_ORDER = ("grid", "community", "street", "district")

# `areas` is the chain of codes that holds the place (itself and its ancestors).
CATALOGUE_SQL = """
SELECT c.code, c.name, c.parent_code AS parent, c.kind, c.time_limit, c.time_unit, c.urgency,
       coalesce(c.area_code, p.area_code) AS area, coalesce(c.area_code, p.area_code) IS NOT NULL
       AS local
FROM categories c LEFT JOIN categories p ON p.code = c.parent_code
WHERE (c.area_code IS NULL OR c.area_code = ANY(%(areas)s))
  AND (p.area_code IS NULL OR p.area_code = ANY(%(areas)s))
ORDER BY c.code
"""

OWNER_SQL = """
SELECT coalesce(c.area_code, p.area_code) AS owner,
       (c.area_code IS NULL OR c.area_code = ANY(%(areas)s))
       AND (p.area_code IS NULL OR p.area_code = ANY(%(areas)s)) AS available,
       (SELECT name FROM areas a WHERE a.code = coalesce(c.area_code, p.area_code)
          AND a.valid_to IS NULL) AS owner_name
FROM categories c LEFT JOIN categories p ON p.code = c.parent_code
WHERE c.code = %(code)s
"""


def chain_of(assignment: Assignment) -> list[str]:
    """The codes of the areas holding an assigned point, lowest level first."""
    return [c for level in AREA_ORDER if (c := assignment.code(level)) is not None]


def catalogue(conn: Connection[Any], areas: list[str]) -> list[dict[str, Any]]:
    """The categories that may be reported in the place held by `areas`."""
    rows = conn.execute(CATALOGUE_SQL, {"areas": areas}, prepare=True).fetchall()
    return [
        {**r, "time_limit": float(r["time_limit"]) if r["time_limit"] is not None else None}
        for r in rows
    ]


def area_chain(conn: Connection[Any], code: str) -> list[dict[str, Any]]:
    """[{code, level, name}] of a current area and its ancestors, nearest first; 404 if unknown."""
    chain = ancestors(conn, code)
    if not chain:
        raise NotFound(f"No current area with code '{code}'.")
    codes = [a["code"] for a in chain]
    names = {
        r["code"]: r["name"]
        for r in conn.execute(
            "SELECT code, name FROM areas WHERE code = ANY(%s) AND valid_to IS NULL", (codes,)
        ).fetchall()
    }
    return [{"code": a["code"], "level": a["level"], "name": names.get(a["code"])} for a in chain]


def require_in_catalogue(conn: Connection[Any], category: str, areas: list[str]) -> None:
    """Refuse (422 category_not_available) a local category reported outside its area."""
    row = conn.execute(OWNER_SQL, {"code": category, "areas": areas}, prepare=True).fetchone()
    if row is None or row["available"]:
        return  # unknown codes are refused earlier, as unknown_category
    owner = row["owner"]
    raise CategoryNotAvailable(
        f"Category '{category}' is a local service of {row['owner_name'] or owner} ({owner}) "
        "and cannot be reported here. GET /api/v1/catalogue?lon=…&lat=… lists what can.",
        {"category": category, "area": owner, "here": areas},
    )


def point_catalogue(
    conn: Connection[Any], settings: AssignmentSettings, lon: float, lat: float
) -> dict[str, Any]:
    """The areas holding a WGS 84 point (grid first) and the catalogue offered there."""
    assigned = assign_point(
        conn, lon, lat, nearest_m=settings.nearest_grid_m, near_m=settings.near_boundary_m
    )
    chain = [
        {"code": v["code"], "level": level, "name": v["name"]}
        for level in AREA_ORDER
        if (v := assigned.levels.get(level))
    ]
    return {"areas": chain, "categories": catalogue(conn, chain_of(assigned))}


def service_codes_at(
    conn: Connection[Any], settings: Settings, lat: float | None, lon: float | None
) -> set[str]:
    """Open311 `services?lat&long`: the codes of the catalogue at that point (both needed)."""
    if lat is None or lon is None:
        raise BadRequest("Give both lat and long (WGS 84) to list the services offered there.")
    return {c["code"] for c in point_catalogue(conn, settings.assignment, lon, lat)["categories"]}
