"""4+X service catalogues: what may be reported at a point or in an area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep, SettingsDep
from api.errors import BadRequest
from api.responses import JSON
from api.services.intake.catalogue import area_chain, catalogue, point_catalogue
from gis.crs import normalize_crs, to_wgs84

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


@router.get("/catalogue", response_class=JSON)
def service_catalogue(
    conn: ConnDep,
    settings: SettingsDep,
    lon: Annotated[float | None, Query(description="longitude (or easting)")] = None,
    lat: Annotated[float | None, Query(description="latitude (or northing)")] = None,
    crs: Annotated[str | None, Query(description="EPSG:4326 (default), GCJ02, BD09…")] = None,
    area: Annotated[str | None, Query(max_length=64, description="an area code instead")] = None,
) -> JSON:
    """Global categories plus the local ("X") ones of the place's areas (4+X)."""
    if area is not None and (lon is not None or lat is not None):
        raise BadRequest("Give either lon and lat, or area — not both.")
    if area is not None:
        chain = area_chain(conn, area)
        return JSON({"areas": chain, "categories": catalogue(conn, [a["code"] for a in chain])})
    if lon is None or lat is None:
        raise BadRequest("Give lon and lat (a point) or area (an area code).")
    x, y = to_wgs84(lon, lat, normalize_crs(crs))
    return JSON(point_catalogue(conn, settings.assignment, x, y))
