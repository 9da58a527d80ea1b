"""Base map tiles: PNGs from the tile cache, or rendered by Mapnik from the base map tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from api.services.basemap.osm_import import TILE_TABLE
from api.services.basemap.render import BasemapRenderer
from api.services.interop.tile_cache import CachedTile, TileCache
from api.services.interop.tiles import check_tile
from gis.tiles import tile_bbox

LAYER = "basemap"


@dataclass
class BasemapTile:
    """A PNG tile and whether it came from the cache."""

    data: bytes
    etag: str
    cache_hit: bool


def _etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def get_basemap_tile(
    cache: TileCache, renderer: BasemapRenderer, z: int, x: int, y: int
) -> BasemapTile:
    """One tile; a miss renders the metatile around it and caches all of its tiles."""
    check_tile(z, x, y, renderer.settings.max_zoom)
    key = (LAYER, "", z, x, y)
    cached = cache.get(key)
    if cached is not None:
        return BasemapTile(cached.data, _etag(cached.data), True)
    since = cache.generation()  # before rendering: an import committed after it keeps it out
    n = min(renderer.settings.metatile, 2**z)
    x0, y0 = x - x % n, y - y % n
    tiles = renderer.render(z, x0, y0, n)
    wanted = b""
    for i, data in enumerate(tiles):
        tx, ty = x0 + i % n, y0 + i // n
        # A re-import replaces the whole map: the tile's box only has to be its own.
        cache.put(
            (LAYER, "", z, tx, ty), CachedTile(data, TILE_TABLE, tile_bbox(z, tx, ty), False), since
        )
        if (tx, ty) == (x, y):
            wanted = data
    return BasemapTile(wanted, _etag(wanted), False)
