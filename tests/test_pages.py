"""Pages: the overview map is served with local assets only and works in a real, offline browser."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from api.main import create_app
from api.settings import MapSettings, Settings
from bench.common import CHROMIUM as CHROMIUM_PATH
from tests.conftest import (
    chromium,  # noqa: F401  (fixture, for modules that import it here)
    settings_for,
)
from tests.world import AREAS
from web_map.pages import STATIC_DIR, overview_page, page_references

CHROMIUM = Path(CHROMIUM_PATH)
EXTERNAL_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)\\]+""")
GRID_1 = "110199001001001"
GRID_2 = "110199001001002"
TILE_URL = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def external_urls(html: str) -> list[str]:
    """Absolute or protocol-relative URLs anywhere in the markup."""
    return EXTERNAL_URL.findall(html)


# --- HTTP ------------------------------------------------------------------------------------


def test_overview_references_only_local_static_files(world: TestClient) -> None:
    res = world.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    html = res.text
    refs = page_references(html)
    assert "/static/vendor/leaflet/leaflet.js" in refs
    assert "/static/vendor/leaflet/leaflet.css" in refs
    assert "/static/gridgov.js" in refs
    assert "/static/gridgov.css" in refs
    for ref in refs:
        assert ref.startswith("/static/"), ref
        got = world.get(ref)
        assert got.status_code == 200, ref
        assert got.content, ref
    assert external_urls(html) == []
    # folium's CDN defaults are gone, not just redirected
    for name in ("jquery", "bootstrap", "awesome", "fontawesome", "cdn"):
        assert name not in html.lower(), name
    # no base map URL configured: GridGov's own base map, served from this origin
    assert re.findall(r'L\.tileLayer\(\s*"([^"]*)"', html) == ["/basemap/{z}/{x}/{y}.png"]
    assert "\\u00a9 OpenStreetMap contributors" in html  # folium writes © as a JSON escape


def test_leaflet_assets_are_served_with_their_types(world: TestClient) -> None:
    js = world.get("/static/vendor/leaflet/leaflet.js")
    assert js.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert js.text.startswith("/* @preserve\n * Leaflet 1.9.4")
    css = world.get("/static/vendor/leaflet/leaflet.css")
    assert css.headers["content-type"].startswith("text/css")
    # the images leaflet.css refers to (relative URLs) are all there
    for image in re.findall(r"url\((images/[^)]+)\)", css.text):
        assert world.get(f"/static/vendor/leaflet/{image}").status_code == 200, image
    assert world.get("/static/vendor/leaflet/LICENSE").status_code == 200
    assert world.get("/static/vendor/README.md").status_code == 200


def test_static_refuses_missing_files_and_traversal(world: TestClient) -> None:
    assert world.get("/static/nope.js").status_code == 404
    assert world.get("/static/../api/main.py").status_code == 404
    assert world.get("/static/%2e%2e/api/main.py").status_code == 404


def test_overview_with_a_basemap_references_only_that_template() -> None:
    attribution = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    html = overview_page(MapSettings(basemap_url=TILE_URL, basemap_attribution=attribution))
    assert "L.tileLayer" in html
    assert sorted(set(external_urls(html))) == [
        TILE_URL,
        "https://www.openstreetmap.org/copyright",
    ]
    assert all(ref.startswith("/static/") for ref in page_references(html))


def test_overview_basemap_without_attribution_still_renders() -> None:
    html = overview_page(MapSettings(basemap_url="/tiles/osm/{z}/{x}/{y}.png"))
    assert "/tiles/osm/{z}/{x}/{y}.png" in html
    assert external_urls(html) == []


def test_web_map_does_not_touch_the_database() -> None:
    code = "import sys, web_map.pages; print(sorted(m for m in sys.modules if 'psycopg' in m))"
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    for path in Path(STATIC_DIR).parent.rglob("*.py"):
        assert "psycopg" not in path.read_text(), path


# --- browser ---------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs system Chromium at /usr/bin/chromium"
)


def serve(settings: Settings) -> Iterator[str]:
    """Run the app on a free local port (uvicorn in a thread) until the generator is closed."""
    yield from serve_app(create_app(settings))


def serve_app(app: Any) -> Iterator[str]:
    """Run this app object (e.g. with a fixed clock) like `serve`."""
    port = free_port()
    with in_thread(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def in_thread(config: uvicorn.Config) -> Iterator[None]:
    """Run a uvicorn server in a thread, started on entry and stopped on exit."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(world_db: str) -> Iterator[str]:
    """The app serving the world, with no base map (the intranet default)."""
    yield from serve(settings_for(world_db))


@pytest.fixture
def live_server_with_basemap(world_db: str) -> Iterator[str]:
    """The app serving the world with an internet base map configured (unreachable here)."""
    settings = settings_for(world_db)
    settings.map.basemap_url = TILE_URL
    yield from serve(settings)


def local_only(route: Route, blocked: list[str]) -> None:
    """Let requests to 127.0.0.1 through; abort the others and record their URLs in `blocked`."""
    parts = urlsplit(route.request.url)
    if parts.scheme in {"http", "https"} and parts.hostname != "127.0.0.1":
        blocked.append(route.request.url)
        route.abort()
    else:
        route.continue_()


@dataclass
class Offline:
    """A page whose non-local requests are aborted and recorded, with its console errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        """Let requests to 127.0.0.1 through; abort and record everything else."""
        local_only(route, self.blocked)

    def console(self, message: ConsoleMessage) -> None:
        """Record console errors, except Chromium's log of the outside-area 422 we provoke."""
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if "/api/v1/locate?" in url and message.text.endswith("(Unprocessable Entity)"):
            return
        self.problems.append(f"{message.text} at {message.location}")


@pytest.fixture
def offline(chromium: Browser) -> Iterator[Offline]:  # noqa: F811
    """A fresh browser context and page that can only reach 127.0.0.1."""
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    state = Offline(context.new_page())
    state.page.on("console", state.console)
    state.page.on("pageerror", lambda e: state.problems.append(f"page error: {e}"))
    state.page.route("**/*", state.route)
    try:
        yield state
    finally:
        context.close()


def wait_until_loaded(page: Page) -> None:
    """Wait for #status to report the world's areas."""
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "ready", timeout=15_000)
    expect(status).to_have_text("2 districts · 2 streets · 2 communities · 2 grids")


def point_in_page(page: Page, lat: float, lon: float, zoom: int) -> dict[str, float]:
    """Centre the map on lat/lon at zoom; the point's pixel position inside the map."""
    return page.evaluate(
        """([lat, lon, zoom]) => {
            gridgovMap.setView([lat, lon], zoom, {animate: false});
            const p = gridgovMap.latLngToContainerPoint([lat, lon]);
            return {x: p.x, y: p.y};
        }""",
        [lat, lon, zoom],
    )


@pytest.mark.browser
@needs_chromium
def test_overview_in_an_offline_browser(live_server: str, offline: Offline) -> None:
    page = offline.page
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.goto(live_server + "/")
    wait_until_loaded(page)

    grids = [a for a in AREAS if a[3] == "grid"]
    grid_paths = page.locator(".leaflet-gridgov-grid-pane path.leaflet-interactive")
    expect(grid_paths).to_have_count(len(grids))
    assert page.evaluate("GridGov.layers.grid.getLayers().length") == len(grids)
    overlays = page.locator(".leaflet-control-layers-overlays label")
    # the browser asks for English (Accept-Language: en-US); test_i18n.py covers zh_CN
    assert [t.strip() for t in overlays.all_inner_texts()] == [
        "District",
        "Street",
        "Community",
        "Grid",
    ]
    # the base map is GridGov's own (no GRIDGOV_BASEMAP_URL): every tile comes from /basemap
    tiles = page.locator(".leaflet-tile-pane img").evaluate_all("els => els.map(e => e.src)")
    assert tiles and all(t.startswith(live_server + "/basemap/") for t in tiles), tiles

    the_map = page.locator(".folium-map")
    popup = page.locator(".leaflet-popup-content")

    # hovering a grid labels it with its code
    at_grid = point_in_page(page, 39.02, 116.010, 14)
    box = the_map.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + at_grid["x"], box["y"] + at_grid["y"])
    expect(page.locator(".leaflet-tooltip")).to_contain_text(GRID_1)

    # clicking inside grid 1 shows its assignment and the department per category class
    the_map.click(position=at_grid)
    expect(popup).to_contain_text(GRID_1)
    rows = {
        level: page.locator(f".gg-assign tr[data-level={level}] td").inner_text()
        for level in ("grid", "community", "street", "district")
    }
    assert rows == {
        "grid": f"一社区第1网格 ({GRID_1})",
        "community": "一社区 (110199001001)",
        "street": "甲街道 (110199001)",
        "district": "测试区 (110199)",
    }
    depts = page.locator(".gg-depts li").all_inner_texts()
    assert depts == [
        "公用设施 BJ01 → 自来水公司 (WATER)",
        "矛盾纠纷 SH01 → 甲街道办事处 (S-110199001)",
        "市容环境 SJ01 → 城管执法甲街道分队 (CITYMGMT-001)",
    ]
    assert "inside" in popup.inner_text()
    expect(page.locator(".gg-assign tr[data-level=near]")).to_have_count(0)

    # a few metres from the edge grid 1 shares with grid 2: the neighbour is named
    by_the_edge = point_in_page(page, 39.02, 116.02497, 18)
    the_map.click(position=by_the_edge)
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    expect(page.locator(".gg-assign tr[data-level=grid] td")).to_contain_text(GRID_1)
    expect(page.locator(".gg-assign tr[data-level=near] td")).to_contain_text(f"{GRID_2} (2.")

    # clicking outside every area shows the API's message
    outside = point_in_page(page, 39.5, 116.5, 12)
    the_map.click(position=outside)
    expect(page.locator(".leaflet-popup")).to_have_count(1)  # the first one has faded out
    expect(popup).to_have_text("This location is outside the area GridGov serves.")
    expect(popup.locator(".gg-error")).to_have_count(1)

    assert offline.blocked == []
    # Leaflet cancels the base map tiles still loading when the view jumps (net::ERR_ABORTED);
    # a cancelled image is not a failed load. Anything else failing is.
    cancelled = [f for f in failed if "/basemap/" in f and f.endswith("net::ERR_ABORTED")]
    assert [f for f in failed if f not in cancelled] == []
    assert offline.problems == []


@pytest.mark.browser
@needs_chromium
def test_unreachable_basemap_and_hostile_names(
    live_server_with_basemap: str, offline: Offline, db: psycopg.Connection[Any]
) -> None:
    hostile = '网格<img src=x onerror="window.pwned=1">'
    with db.transaction():  # areas are versioned: close the current version, open a renamed one
        old = db.execute(
            "UPDATE areas SET valid_to = now() WHERE code = %s AND valid_to IS NULL RETURNING id",
            (GRID_2,),
        ).fetchone()
        assert old is not None
        db.execute(
            "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, valid_from) "
            "SELECT code, parent_code, %s, level, level_rank, geom, now() FROM areas WHERE id = %s",
            (hostile, old["id"]),
        )
    page = offline.page
    page.goto(live_server_with_basemap + "/")
    wait_until_loaded(page)
    expect(page.locator(".leaflet-gridgov-grid-pane path.leaflet-interactive")).to_have_count(2)

    # names from the API are text, never markup: in the tooltip and in the popup
    at_grid_2 = point_in_page(page, 39.02, 116.035, 14)
    page.locator(".folium-map").click(position=at_grid_2)
    expect(page.locator(".gg-assign tr[data-level=grid] td")).to_have_text(f"{hostile} ({GRID_2})")
    expect(page.locator(".leaflet-tooltip")).to_contain_text(hostile)
    assert page.locator(".leaflet-popup img, .leaflet-tooltip img").count() == 0
    assert page.evaluate("window.pwned") is None

    # the blocker has teeth: the configured tiles were tried, and they are all that was tried
    assert offline.blocked
    assert {urlsplit(u).hostname for u in offline.blocked} == {"tiles.example.gov.cn"}
    # Chromium logs the aborted tiles; nothing else may be logged
    assert [p for p in offline.problems if "net::ERR_FAILED" not in p] == []


def test_level_labels_are_configurable_for_rural_areas(world_db, monkeypatch):
    """县 > 乡镇 > 村 > 村民小组: GRIDGOV_LEVEL_LABELS renames the levels on the pages."""
    import json

    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings
    from tests.conftest import settings_for

    rural = {
        "district": "县 County",
        "street": "乡镇 Township",
        "community": "村 Village",
        "grid": "村民小组 Villager group",
    }
    settings = settings_for(world_db)
    settings.map.level_labels = rural
    with TestClient(create_app(settings)) as client:
        html = client.get("/").text
    for label in rural.values():
        assert label in html
    assert "街道 Street" not in html
    # the same setting is read from the environment as JSON
    monkeypatch.setenv("GRIDGOV_LEVEL_LABELS", json.dumps(rural, ensure_ascii=False))
    assert Settings().map.level_labels == rural
    assert Settings().evaluation.level_labels == rural  # /map/stats reads the same variable
