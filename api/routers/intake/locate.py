"""GET /api/v1/locate: which areas, building and departments hold a point."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, OptionalUser, SettingsDep
from api.responses import JSON
from gis.assign import assign_point
from gis.crs import normalize_crs, to_wgs84

router = APIRouter(prefix="/api/v1", tags=["assignment"])


@router.get("/locate", response_class=JSON)
def locate(
    conn: ConnDep,
    settings: SettingsDep,
    _user: OptionalUser,  # a token is checked (401 if wrong): holders skip the address limit
    lon: Annotated[float, Query(description="longitude (or easting in a projected crs)")],
    lat: Annotated[float, Query(description="latitude (or northing in a projected crs)")],
    crs: Annotated[
        str | None, Query(description="EPSG:4326 (default), GCJ02, BD09, EPSG:n")
    ] = None,
    at: Annotated[
        dt.datetime | None, Query(description="answer as of this moment (ISO 8601; naive = UTC)")
    ] = None,
) -> JSON:
    """The assignment of a point and, per category major class, the responsible department."""
    name = normalize_crs(crs)
    wlon, wlat = to_wgs84(lon, lat, name)
    a = settings.assignment
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    result = assign_point(
        conn,
        wlon,
        wlat,
        by_class=True,
        nearest_m=a.nearest_grid_m,
        near_m=a.near_boundary_m,
        at=at,
    )
    return JSON(
        {
            "location": {"lon": wlon, "lat": wlat, "input": {"x": lon, "y": lat, "crs": name}},
            "assignment": result.as_json(),
            "departments": [
                {
                    "category": r.category,
                    "category_name": r.category_name,
                    "department": r.department,
                    "rule": r.rule,
                }
                for r in result.routes
            ],
        }
    )
