"""GridGov's own base map: GET /basemap/{z}/{x}/{y}.png (rendered from OpenStreetMap data)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from api.responses import tile_or_not_modified, tile_route
from api.services.basemap.tiles import get_basemap_tile

router = APIRouter(prefix="/basemap", tags=["base map"])
PNG = "image/png"


@tile_route(router, "/{z}/{x}/{y}.png", PNG, "a 256 px PNG base map tile")
def basemap_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One base map tile (© OpenStreetMap contributors); `X-Tile-Cache` says hit or miss."""
    app = request.app
    t0 = time.perf_counter()
    tile = get_basemap_tile(app.state.tile_cache, app.state.basemap, z, x, y)
    headers = {
        # the server's own time (cache lookup, or render): bench/basemap.py reads it
        "Server-Timing": f"tile;dur={(time.perf_counter() - t0) * 1000:.3f}",
        "ETag": tile.etag,
        "Cache-Control": "no-cache",  # revalidate: a re-import replaces every tile at once
        "X-Tile-Cache": "hit" if tile.cache_hit else "miss",
    }
    return tile_or_not_modified(tile.data, PNG, headers, if_none_match)
