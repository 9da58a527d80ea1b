"""Vector tiles for maps: checks the request, serves from the tile cache, renders on a miss."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from api.errors import BadRequest, NotFound
from api.services.interop.tile_cache import CachedTile, TileStore
from api.settings import TileSettings
from gis.features import Filters, IncidentFilter
from gis.tiles import LAYERS, MERCATOR_MAX_LAT, TileLayer, layer_bounds, render_tile, tile_bbox

LEVELS = ("district", "street", "community", "grid")


@dataclass
class TileAnswer:
    """The tile bytes and how they were obtained."""

    data: bytes
    etag: str
    cache_hit: bool
    truncated: bool
    gzipped: bytes = b""  # the same tile gzip-compressed (empty for an empty tile)


def tile_layer(name: str, level: str | None) -> TileLayer:
    """The layer asked for, refusing unknown layers and misplaced levels."""
    layer = LAYERS.get(name)
    if layer is None:
        raise NotFound(f"No tile layer '{name}'. Layers: {', '.join(LAYERS)}.", {"layer": name})
    if level is not None:
        if not layer.by_level:
            raise BadRequest(f"Layer '{name}' has no levels; drop 'level'.")
        if level not in LEVELS:
            raise BadRequest(f"Unknown level '{level}'. Levels: {', '.join(LEVELS)}.")
    return layer


def check_tile(z: int, x: int, y: int, max_zoom: int) -> None:
    """Refuse a zoom outside 0…max_zoom or x/y outside the 2^z × 2^z grid."""
    if not 0 <= z <= max_zoom:
        raise BadRequest(f"Zoom must be between 0 and {max_zoom}.", {"z": z})
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise BadRequest(
            f"At zoom {z}, x and y must be between 0 and {n - 1}.", {"z": z, "x": x, "y": y}
        )


def _etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def get_tile(
    conn: Connection[Any],
    cache: TileStore,
    settings: TileSettings,
    name: str,
    z: int,
    x: int,
    y: int,
    level: str | None = None,
    where: IncidentFilter | None = None,
) -> TileAnswer:
    """One tile: from the cache when it holds a current copy, else rendered and offered to it.

    `where` narrows the incidents layer like the incident list's filters (the dispatch console
    draws what its filters show). Tiles filtered to overdue incidents are not cached: an incident
    becoming overdue enters them with no write to announce it.
    """
    layer = tile_layer(name, level)
    check_tile(z, x, y, settings.max_zoom)
    where = where or IncidentFilter()
    filters = where.key()  # "" when nothing is filtered
    if filters and name != "incidents":
        raise BadRequest(f"Layer '{name}' takes no incident filters; only 'incidents' does.")
    extra = None
    if filters:
        extra = Filters()
        where.apply(extra)
    key = (name, filters or level or "", z, x, y)
    cached = cache.get(key)
    if cached is not None:
        return TileAnswer(cached.data, _etag(cached.data), True, cached.truncated, cached.gzipped)
    since = cache.generation()  # before reading: a save after this point keeps it out
    tile = render_tile(
        conn, layer, z, x, y, level=level, max_features=settings.max_features, extra=extra
    )
    gzipped = compress_tile(tile.data)
    if not where.overdue:
        entry = CachedTile(
            tile.data, layer.table, tile_bbox(z, x, y), tile.truncated, tile.expires_at, gzipped
        )
        cache.put(key, entry, since)
    return TileAnswer(tile.data, _etag(tile.data), False, tile.truncated, gzipped)


def compress_tile(data: bytes) -> bytes:
    """The tile gzip-compressed once, kept beside it so a cache hit costs no compression.

    mtime=0 keeps the bytes (and so the ETag) the same on every node.
    """
    return gzip.compress(data, compresslevel=6, mtime=0) if data else b""


def tilejson(
    conn: Connection[Any], settings: TileSettings, root: str, name: str, level: str | None
) -> dict[str, Any]:
    """TileJSON 3.0.0 for a layer; the tile URL template is built on the request's base URL."""
    layer = tile_layer(name, level)
    bounds = layer_bounds(conn, layer, level)
    if bounds is None:
        bounds = (-180.0, -MERCATOR_MAX_LAT, 180.0, MERCATOR_MAX_LAT)
    x0, y0, x1, y1 = bounds
    query = f"?level={level}" if level else ""
    return {
        "tilejson": "3.0.0",
        "name": f"GridGov {name}" + (f" ({level})" if level else ""),
        "description": "GridGov vector tiles (Mapbox Vector Tile 2.1)",
        "scheme": "xyz",
        "tiles": [f"{root}/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf{query}"],
        "minzoom": 0,
        "maxzoom": settings.max_zoom,
        "bounds": [x0, y0, x1, y1],
        "center": [(x0 + x1) / 2, (y0 + y1) / 2, min(12, settings.max_zoom)],
        "vector_layers": [
            {
                "id": layer.name,
                "fields": dict(layer.fields),
                "minzoom": 0,
                "maxzoom": settings.max_zoom,
            }
        ],
    }
