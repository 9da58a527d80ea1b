"""Vector tiles: GET /tiles/{layer}/{z}/{x}/{y}.pbf and the layer's TileJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from api.deps import IncidentFilterDep, ReadConnDep, SettingsDep, user_on_primary
from api.responses import JSON, tile_or_not_modified, tile_route
from api.services.identity.policy import check_feed_filter
from api.services.interop.tiles import get_tile, tilejson
from api.transport import accepts

router = APIRouter(prefix="/tiles", tags=["vector tiles"])

MVT = "application/vnd.mapbox-vector-tile"
Level = Literal["district", "street", "community", "grid"]
LevelQuery = Annotated[Level | None, Query(description="areas layer only: one level")]


@router.get("/{layer}.json", response_class=JSON)
def layer_tilejson(
    layer: str, request: Request, conn: ReadConnDep, settings: SettingsDep, level: LevelQuery = None
) -> JSON:
    """TileJSON 3.0 for a layer (areas, grids, buildings, incidents)."""
    root = str(request.base_url).rstrip("/")
    return JSON(tilejson(conn, settings.tiles, root, layer, level))


# Beyond any tile (zoom ≤ 24, x and y < 2^24): refused at the edge (422) before any arithmetic;
# inside these bounds the service answers 400 for a tile outside the zoom's grid.
TileNumber = Annotated[int, Path(ge=-(2**32), le=2**32)]


@tile_route(router, "/{layer}/{z}/{x}/{y}.pbf", MVT, "a Mapbox vector tile (maybe empty)")
def vector_tile(
    layer: str,
    z: TileNumber,
    x: TileNumber,
    y: TileNumber,
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    where: IncidentFilterDep,
    level: LevelQuery = None,
    if_none_match: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
    accept_encoding: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """One tile; `X-Tile-Cache` says hit or miss, `X-Tile-Truncated` that the cap cut it.

    The incidents layer takes the incident list's filters (status, category, area, …).
    """
    if where.department:  # tiles are public, who handles what is not: only then ask who calls
        check_feed_filter(user_on_primary(request, authorization), where.department)
    cache = request.app.state.tile_cache
    if request.state.read_on_replica:  # a render may miss the last second's writes: see lagged
        cache = cache.lagged(request.app.state.read_pool.settle_s)
    answer = get_tile(conn, cache, settings.tiles, layer, z, x, y, level, where)
    headers = {
        "ETag": answer.etag,
        # browsers must revalidate: the server drops a tile the moment its data changes
        "Cache-Control": "no-cache",
        "X-Tile-Cache": "hit" if answer.cache_hit else "miss",
    }
    if answer.truncated:
        headers["X-Tile-Truncated"] = "true"
    body, etag = answer.data, answer.etag
    headers["Vary"] = "Accept-Encoding"
    if answer.gzipped and accepts("gzip", accept_encoding):
        # another representation, so another strong ETag (RFC 9110 §8.8.3)
        body, etag = answer.gzipped, answer.etag[:-1] + '-gz"'
        headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    return tile_or_not_modified(body, MVT, headers, if_none_match)
