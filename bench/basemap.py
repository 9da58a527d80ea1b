"""The base map: tile render (cold) and cache (hot) latency at zooms 12-18, and /report on a phone.

    .venv/bin/python -m bench.basemap [--per-zoom 40] [--runs 5]

A throwaway database gets the Haidian demo (its areas and its OSM base map); `gridgov serve`
runs on it. First /report opens in headless Chromium at 390×844 (the first run meets an empty
tile cache), then a fixed list of tiles over the demo's two extracts is fetched once (cold: each
a Mapnik render) and again (cached). One keep-alive connection, so one worker and its cache.
Figures only; the targets are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
from statistics import median

import httpx
import numpy as np
import psycopg
from psycopg.rows import dict_row
from rich.table import Table

from bench.common import LocalOnly, app_server, bench_database, console, machine_line
from bench.tiles import tile_xy

ZOOMS = range(12, 19)
# The two OSM extracts of the demo (China Agricultural University East, Tsinghua/Wudaokou).
EXTRACTS = ((116.3440, 39.9977, 116.3597, 40.0089), (116.3170, 39.9900, 116.3430, 40.0100))
PHONE = {"width": 390, "height": 844}
TILES_LOADED = """() => {
    const tiles = [...document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile')];
    return tiles.length > 0 && tiles.every(t => t.complete && t.naturalWidth > 0);
}"""


def tile_list(per_zoom: int) -> list[tuple[int, int, int]]:
    """Up to `per_zoom` tiles per zoom over the extracts, evenly spaced (deterministic)."""
    out = []
    for z in ZOOMS:
        tiles: set[tuple[int, int]] = set()
        for x0, y0, x1, y1 in EXTRACTS:
            tx0, ty0 = tile_xy(x0, y1, z)
            tx1, ty1 = tile_xy(x1, y0, z)
            tiles |= {(x, y) for x in range(tx0, tx1 + 1) for y in range(ty0, ty1 + 1)}
        ordered = sorted(tiles)
        step = max(1, len(ordered) // per_zoom)
        out += [(z, x, y) for x, y in ordered[::step][:per_zoom]]
    return out


def fetch(
    client: httpx.Client, tiles: list[tuple[int, int, int]], server: dict[int, list[float]]
) -> dict[int, list[float]]:
    """Milliseconds per tile request, by zoom; every answer must be a PNG. `server` collects
    the server's own time per tile (its Server-Timing header: cache lookup and render)."""
    times: dict[int, list[float]] = {z: [] for z in ZOOMS}
    for z, x, y in tiles:
        t0 = time.perf_counter()
        r = client.get(f"/basemap/{z}/{x}/{y}.png")
        times[z].append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and r.content[1:4] == b"PNG", r.text[:200]
        server.setdefault(z, []).append(float(r.headers["server-timing"].split("dur=")[1]))
    return times


def page_runs(base: str, runs: int) -> list[tuple[float, float, int, list[str]]]:
    """(ready s, base map drawn s, requests, non-local URLs) per opening of /report."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(runs):
            context = browser.new_context(viewport=PHONE)  # new context: nothing in its cache
            page = context.new_page()
            route = LocalOnly()
            page.route("**/*", route)
            t0 = time.perf_counter()
            page.goto(base + "/report", wait_until="domcontentloaded")
            page.wait_for_selector("#gg-report[data-ready=true]", timeout=30_000)
            ready = time.perf_counter() - t0
            page.wait_for_function(TILES_LOADED, timeout=30_000)
            drawn = time.perf_counter() - t0
            out.append((ready, drawn, route.count, route.foreign))
            context.close()
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Load the demo, serve it, print the two tables."""
    p = argparse.ArgumentParser(prog="python -m bench.basemap", description=__doc__.split("\n")[0])
    p.add_argument("--per-zoom", type=int, default=40, help="tiles per zoom (default 40)")
    p.add_argument("--runs", type=int, default=5, help="openings of /report (default 5)")
    a = p.parse_args(argv)
    from api.services.demo import load_demo
    from api.settings import DatabaseSettings, Settings

    with bench_database() as url:
        console.print(machine_line(url))
        with console.status("loading the demo (areas, OSM base map)"):
            with psycopg.connect(url, row_factory=dict_row) as conn:
                load_demo(conn, Settings(db=DatabaseSettings(database_url=url)))
        with app_server(url) as base:
            runs = page_runs(base, a.runs)
            tiles = tile_list(a.per_zoom)
            with httpx.Client(base_url=base, timeout=60) as client:
                client.get("/basemap/0/0/0.png")  # start the render processes (not timed)
                cold_server: dict[int, list[float]] = {}
                hot_server: dict[int, list[float]] = {}
                cold = fetch(client, tiles, cold_server)
                hot = fetch(client, tiles, hot_server)

    t = Table(title="Base map tiles: GET /basemap/{z}/{x}/{y}.png, ms per request",
              title_justify="left")  # fmt: skip
    cols = ("zoom", "tiles", "cold median", "cold p90", "cold in server", "cached median",
            "cached p90", "cached in server")  # fmt: skip
    for col in cols:
        t.add_column(col, justify="right")

    def row(label: str, c: list[float], cs: list[float], h: list[float], hs: list[float]) -> None:
        t.add_row(label, str(len(c)), f"{median(c):.1f}", f"{np.percentile(c, 90):.1f}",
                  f"{median(cs):.1f}", f"{median(h):.2f}", f"{np.percentile(h, 90):.2f}",
                  f"{median(hs):.3f}")  # fmt: skip

    for z in ZOOMS:
        row(str(z), cold[z], cold_server[z], hot[z], hot_server[z])
    every = [[v for z in ZOOMS for v in d[z]] for d in (cold, cold_server, hot, hot_server)]
    row("12-18", *every)
    console.print(t)

    pt = Table(title="/report at 390×844 (headless Chromium), seconds", title_justify="left")
    for col in ("run", "interactive s", "base map drawn s", "requests", "non-local"):
        pt.add_column(col, justify="right")
    for i, (ready, drawn, n, foreign) in enumerate(runs, 1):
        pt.add_row(str(i), f"{ready:.2f}", f"{drawn:.2f}", str(n), str(len(foreign)))
    console.print(pt)
    console.print(
        "targets: cold median ≤ 30 ms, cached ≤ 2 ms (z12-18); /report < 1.5 s; 0 non-local"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
