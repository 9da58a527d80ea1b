"""`gridgov basemap export`: the base map of a box and zoom range as an MBTiles file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from api.services.basemap.osm_import import BasemapImportError, BBox, check_bbox
from api.services.basemap.render import BasemapRenderer
from gis.mbtiles import tile_count, tile_range, write_mbtiles

MAX_TILES = 200_000  # an export past this is refused: ask for a smaller box or fewer zooms
BLOCK = 4  # tiles are rendered 4×4 at a time (one render, sixteen tiles)
ATTRIBUTION = "© OpenStreetMap contributors"


def check_export(out: Path, bbox: BBox, min_zoom: int, max_zoom: int, overwrite: bool) -> int:
    """Refuse bad arguments before anything is rendered; the number of tiles to write."""
    check_bbox(bbox)
    if out.suffix.lower() != ".mbtiles":
        raise BasemapImportError(f"The output must end in .mbtiles: {out}")
    if out.exists() and not overwrite:
        raise BasemapImportError(f"{out} exists; add --overwrite to replace it.")
    if not out.parent.is_dir():
        raise BasemapImportError(f"No such directory: {out.parent}")
    if not 0 <= min_zoom <= max_zoom <= 20:
        raise BasemapImportError("Zooms must satisfy 0 <= --min-zoom <= --max-zoom <= 20.")
    count = tile_count(bbox, range(min_zoom, max_zoom + 1))
    if count > MAX_TILES:
        raise BasemapImportError(
            f"{count} tiles is more than {MAX_TILES}: choose a smaller --bbox or fewer zoom levels."
        )
    return count


def _tiles(
    renderer: BasemapRenderer, bbox: BBox, zooms: range, tick: Callable[[int], None] | None
) -> Iterator[tuple[int, int, int, bytes]]:
    for z in zooms:
        x0, y0, x1, y1 = tile_range(bbox, z)
        n = min(BLOCK, 2**z)
        for by in range(y0 - y0 % n, y1 + 1, n):
            for bx in range(x0 - x0 % n, x1 + 1, n):
                for i, data in enumerate(renderer.render(z, bx, by, n)):
                    x, y = bx + i % n, by + i // n
                    if x0 <= x <= x1 and y0 <= y <= y1:
                        yield z, x, y, data
                        if tick is not None:
                            tick(1)


def export_basemap(
    renderer: BasemapRenderer,
    out: Path,
    bbox: BBox,
    min_zoom: int,
    max_zoom: int,
    *,
    overwrite: bool = False,
    tick: Callable[[int], None] | None = None,
) -> int:
    """Render the box at every zoom into `out` (written whole to a temporary file, then moved
    into place: a failed export leaves no file and an older one untouched)."""
    check_export(out, bbox, min_zoom, max_zoom, overwrite)
    x0, y0, x1, y1 = bbox
    metadata = {
        "name": "GridGov 底图 base map",
        "format": "png",
        "type": "baselayer",
        "version": "1.0",
        "description": "GridGov base map, rendered by Mapnik from OpenStreetMap data",
        "attribution": ATTRIBUTION,
        "bounds": f"{x0},{y0},{x1},{y1}",
        "center": f"{(x0 + x1) / 2},{(y0 + y1) / 2},{min_zoom}",
        "minzoom": str(min_zoom),
        "maxzoom": str(max_zoom),
        "json": json.dumps({"attribution": ATTRIBUTION}),
    }
    partial = out.with_name(f".{out.name}.{os.getpid()}.part")
    partial.unlink(missing_ok=True)
    try:
        written = write_mbtiles(
            partial, metadata, _tiles(renderer, bbox, range(min_zoom, max_zoom + 1), tick)
        )
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return written
