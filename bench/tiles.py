"""Vector tiles: GridGov's /tiles against tipg on the same tables, cold and cached.

A fixed list of tiles (zooms 12-16 over the synthetic district, evenly sampled, the same for
both servers) is fetched once ("cold": GridGov's cache is empty, tipg has none) and then again
("cached": GridGov answers from its in-process cache, tipg renders again). One keep-alive
connection per server, so every request lands on the same uvicorn worker and its cache.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import httpx
import numpy as np
from rich.table import Table

from bench.common import console
from bench.servers import Server
from bench.synthetic import extent

ZOOMS = (12, 13, 14, 15, 16)

# tipg's collection, the filter that makes it the same layer, and the same attributes.
TIPG_LAYERS = {
    "grids": (
        "public.areas",
        {"filter": "level='grid'", "properties": "code,name,level,parent_code"},
    ),
    "buildings": ("public.buildings", {"properties": "id,name,households"}),
    "incidents": (
        "public.incidents",
        {"properties": "public_id,category_code,status,grid_code"},
    ),
}
LAYERS = tuple(TIPG_LAYERS)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tile_list(per_zoom: int) -> list[tuple[int, int, int]]:
    """Up to `per_zoom` tiles per zoom covering the district, evenly spaced (deterministic)."""
    x0, y0, x1, y1 = extent()
    tiles = []
    for z in ZOOMS:
        tx0, ty0 = tile_xy(x0, y1, z)
        tx1, ty1 = tile_xy(x1, y0, z)
        every = [(z, x, y) for x in range(tx0, tx1 + 1) for y in range(ty0, ty1 + 1)]
        step = max(1, len(every) // per_zoom)
        tiles.extend(every[::step][:per_zoom])
    return tiles


@dataclass
class Pass:
    """Latencies (ms) of one pass over the tile list, bytes served, cache hits."""

    ms: list[float]
    nbytes: int
    hits: int
    errors: int


def fetch_pass(client: httpx.Client, urls: list[tuple[str, dict[str, str]]]) -> Pass:
    """Fetch each URL once, in order."""
    ms, nbytes, hits, errors = [], 0, 0, 0
    for url, params in urls:
        t0 = time.perf_counter()
        r = client.get(url, params=params)
        ms.append((time.perf_counter() - t0) * 1000.0)
        if r.status_code not in (200, 204):
            errors += 1
        nbytes += len(r.content)
        hits += r.headers.get("X-Tile-Cache") == "hit"
    return Pass(ms, nbytes, hits, errors)


def gridgov_urls(layer: str, tiles: list[tuple[int, int, int]]) -> list[tuple[str, dict[str, str]]]:
    """GridGov's tile URLs."""
    return [(f"/tiles/{layer}/{z}/{x}/{y}.pbf", {}) for z, x, y in tiles]


def tipg_urls(layer: str, tiles: list[tuple[int, int, int]]) -> list[tuple[str, dict[str, str]]]:
    """tipg's tile URLs for the same layer."""
    coll, params = TIPG_LAYERS[layer]
    base = f"/collections/{coll}/tiles/WebMercatorQuad"
    return [(f"{base}/{z}/{x}/{y}", {**params, "geom-column": "geom"}) for z, x, y in tiles]


def run_tiles(gridgov: Server, tipg: Server | None, per_zoom: int) -> dict[str, dict[str, Pass]]:
    """Cold then cached passes per layer for each server: {layer: {"gridgov cold": Pass, …}}."""
    tiles = tile_list(per_zoom)
    out: dict[str, dict[str, Pass]] = {}
    for layer in LAYERS:
        out[layer] = {}
        with console.status(f"tiles: {layer} ({len(tiles)} tiles)"):
            servers = [("GridGov", gridgov, gridgov_urls)]
            if tipg is not None:
                servers.append(("tipg", tipg, tipg_urls))
            for name, server, urls in servers:
                with httpx.Client(base_url=server.base, timeout=120) as client:
                    out[layer][f"{name} cold"] = fetch_pass(client, urls(layer, tiles))
                    out[layer][f"{name} cached"] = fetch_pass(client, urls(layer, tiles))
    return out


def tiles_table(results: dict[str, dict[str, Pass]], per_zoom: int, reference: str) -> Table:
    """Median and p95 per layer and pass, with GridGov's ratio to the reference."""
    n = len(tile_list(per_zoom))
    table = Table(
        title=f"4. Vector tiles: {n} tiles at zooms 12–16 per layer, sequential, vs {reference}",
        title_justify="left",
    )
    for col in ("layer", "server · pass", "median ms", "p95 ms", "KB/tile", "cache hits", "errors"):
        table.add_column(col, justify="left" if col in ("layer", "server · pass") else "right")
    table.add_column("ref median ÷ GridGov", justify="right")
    for layer, passes in results.items():
        for key, p in passes.items():
            med = float(np.median(p.ms))
            ratio = ""
            ref = passes.get(key.replace("GridGov", "tipg"))
            if key.startswith("GridGov") and ref is not None:
                ratio = f"{float(np.median(ref.ms)) / med:.1f}×"
            table.add_row(
                layer,
                key,
                f"{med:.2f}",
                f"{float(np.percentile(p.ms, 95)):.2f}",
                f"{p.nbytes / 1024 / len(p.ms):.1f}",
                str(p.hits) if key.startswith("GridGov") else "-",
                str(p.errors),
                ratio,
            )
    return table
