"""Read-only reference data: areas, buildings, departments, categories, routing rules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query

from api.deps import AreaPageSizeDep, BBoxDep, ConnDep, CrsDep, CursorDep, PageSizeDep
from api.errors import NotFound
from api.responses import JSON, GeoJSON
from api.services.reference import Listed, reference_rows
from gis.features import areas_geojson, buildings_geojson

router = APIRouter(prefix="/api/v1", tags=["reference"])

Level = Literal["district", "street", "community", "grid"]


@router.get("/areas", response_class=GeoJSON)
def list_areas(
    conn: ConnDep,
    bbox: BBoxDep,
    limit: AreaPageSizeDep,
    cursor: CursorDep,
    crs: CrsDep,
    level: Level | None = None,
    parent: Annotated[str | None, Query(max_length=64)] = None,
    at: Annotated[
        dt.datetime | None, Query(description="areas as of this moment (ISO 8601; naive = UTC)")
    ] = None,
) -> GeoJSON:
    """Current governance areas (or as of `at`) as GeoJSON (feature id = area code); `limit` up
    to 20,000 whatever GRIDGOV_MAX_PAGE_SIZE says (a city's grids in one page)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return GeoJSON(
        areas_geojson(
            conn, bbox=bbox, level=level, parent=parent, at=at, limit=limit, cursor=cursor, srid=crs
        )
    )


@router.get("/areas/{code}", response_class=JSON)
def get_area(code: str, conn: ConnDep) -> JSON:
    """One current area as a GeoJSON Feature."""
    doc = orjson.loads(areas_geojson(conn, code=code, limit=1))
    if not doc["features"]:
        raise NotFound(f"No current area with code '{code}'.")
    feature = doc["features"][0]
    # The version id is the ETag that PUT/DELETE/split/merge expect back in If-Match.
    return JSON(feature, headers={"ETag": f'"{feature["properties"]["version_id"]}"'})


@router.get("/buildings", response_class=GeoJSON)
def list_buildings(
    conn: ConnDep,
    bbox: BBoxDep,
    limit: PageSizeDep,
    cursor: CursorDep,
    crs: CrsDep,
    grid: Annotated[str | None, Query(max_length=64)] = None,
) -> GeoJSON:
    """Building footprints as GeoJSON."""
    return GeoJSON(
        buildings_geojson(conn, bbox=bbox, grid=grid, limit=limit, cursor=cursor, srid=crs)
    )


def _listing(conn: ConnDep, table: Listed) -> JSON:
    """Every row of a reference table, as {table: [rows]}."""
    return JSON({table: reference_rows(conn, table)})


@router.get("/departments", response_class=JSON)
def list_departments(conn: ConnDep) -> JSON:
    """All departments."""
    return _listing(conn, "departments")


@router.get("/categories", response_class=JSON)
def list_categories(conn: ConnDep) -> JSON:
    """All categories with their time limits."""
    return _listing(conn, "categories")


@router.get("/routing-rules", response_class=JSON)
def list_routing_rules(conn: ConnDep) -> JSON:
    """All routing rules, most specific first."""
    return _listing(conn, "routing_rules")
