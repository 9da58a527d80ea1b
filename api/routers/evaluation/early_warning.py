"""源头治理 over HTTP: hotspots and repeat locations, as GeoJSON FeatureCollections."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from api.deps import ClockDep, ConnDep, CurrentUser, ReadConnDep, ReadCurrentUser, SettingsDep
from api.responses import JSON, GeoJSON
from api.services.evaluation.early_warning import HOTSPOT_DAYS, Ask, hotspots, repeats
from api.services.intake.duplicates import duplicates_of_incident
from api.transport import accepts

router = APIRouter(prefix="/api/v1", tags=["early warning"])

CategoryQ = Annotated[
    str | None,
    Query(
        max_length=32,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="category code or prefix, e.g. SJ01 (a major class) or SJ0102",
    ),
]


@router.get("/hotspots", response_class=GeoJSON)
def list_hotspots(
    request: Request,
    user: ReadCurrentUser,
    conn: ReadConnDep,
    clock: ClockDep,
    settings: SettingsDep,
    days: Annotated[
        int,
        Query(ge=1, le=365, description="reported in the last N days (default a week)"),
    ] = HOTSPOT_DAYS,
    radius_m: Annotated[float, Query(gt=0, le=5000, description="DBSCAN distance, metres")] = 100,
    min_count: Annotated[int, Query(ge=2, le=1000, description="incidents per cluster")] = 5,
    category: CategoryQ = None,
    accept_encoding: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Space-time clusters: count, categories, first/last report, convex hull, grids touched.

    `X-Hotspot-Cache` says whether the answer was clustered for this call (miss) or served
    again because what it would cluster has not changed (hit); on a miss, `X-Hotspot-Reused`
    counts the clusters whose features were taken from the earlier answer (unchanged)."""
    ask = Ask(days, min_count, category)
    answer = hotspots(
        conn, user, clock(), ask, radius_m=radius_m, cache=request.app.state.hotspot_cache
    )
    headers = {"X-Hotspot-Cache": "hit" if answer.cache_hit else "miss", "Vary": "Accept-Encoding"}
    if not answer.cache_hit:
        headers["X-Hotspot-Reused"] = str(answer.reused)
    http = settings.http
    size = answer.entry.size + len(answer.tail)
    if http.gzip_min_bytes and size >= http.gzip_min_bytes and accepts("gzip", accept_encoding):
        # compressed here, the cached part once (the gzip middleware leaves it alone)
        headers["Content-Encoding"] = "gzip"
        return Response(
            answer.gzipped(http.gzip_level), media_type=GeoJSON.media_type, headers=headers
        )
    return Response(answer.body(), media_type=GeoJSON.media_type, headers=headers)


@router.get("/repeats", response_class=GeoJSON)
def list_repeats(
    user: ReadCurrentUser,
    conn: ReadConnDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=3660, description="closed in the last N days")] = 90,
    min_count: Annotated[int, Query(ge=2, le=10_000, description="closed incidents")] = 3,
    level: Annotated[Literal["building", "grid"], Query(description="place")] = "building",
    category: CategoryQ = None,
) -> GeoJSON:
    """Buildings or grids with ≥ min_count closed incidents of one major class: 源头治理."""
    return GeoJSON(repeats(conn, user, clock(), Ask(days, min_count, category), level=level))


@router.get("/incidents/{incident_id}/possible-duplicates", response_class=JSON)
def incident_possible_duplicates(
    incident_id: str, conn: ConnDep, settings: SettingsDep, user: CurrentUser
) -> JSON:
    """Open incidents this report may repeat (as offered at report time; current statuses)."""
    return JSON(duplicates_of_incident(conn, settings.early_warning, user, incident_id))
