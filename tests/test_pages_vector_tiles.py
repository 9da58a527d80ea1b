"""The dispatch console draws grids and buildings from GridGov's own vector tiles (VectorGrid)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.loop import G1
from tests.pages_workflow_util import WAIT, make_user, point_in_page, sign_in_to_console
from web_map.pages import page_references

VECTORGRID = "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"

# Painted (non-transparent) pixels on the canvases of one map pane.
PAINTED_JS = """(pane) => {
  let painted = 0;
  for (const canvas of document.querySelectorAll(`.leaflet-${pane}-pane canvas`)) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]) painted += 1;
  }
  return painted;
}"""


def tile_paths(urls: list[str], layer: str) -> list[str]:
    """The /tiles/{layer}/z/x/y.pbf paths among the requested URLs."""
    return [urlsplit(u).path for u in urls if urlsplit(u).path.startswith(f"/tiles/{layer}/")]


def test_vectorgrid_is_vendored_and_loads_after_leaflet(world: Any, world_db: str) -> None:
    make_user(world_db, "disp", "dispatcher", area="110199")
    r = world.post(
        "/login",
        data={"name": "disp", "password": "correct horse battery", "next": "/map/dispatch"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    refs = page_references(world.get("/map/dispatch").text)
    assert refs.index("/static/vendor/leaflet/leaflet.js") < refs.index(VECTORGRID)
    assert refs.index(VECTORGRID) < refs.index("/static/gridgov.js")
    js = world.get(VECTORGRID)
    assert js.status_code == 200 and "L.VectorGrid.Protobuf=" in js.text
    licence = world.get("/static/vendor/leaflet.vectorgrid/LICENSE")
    assert licence.status_code == 200 and "THE BEER-WARE LICENSE" in licence.text
    assert "Leaflet.VectorGrid | 1.3.0" in world.get("/static/vendor/README.md").text


def test_console_draws_grids_and_buildings_from_vector_tiles(
    live: str,
    browsers: Any,
    world_db: str,
) -> None:
    make_user(world_db, "boss", "dispatcher", area="110199")
    b = browsers()
    page = b.page
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in_to_console(page, live, "boss")

    # the grids are not fetched as GeoJSON any more, only as tiles
    assert not [u for u in requested if urlsplit(u).path == "/api/v1/areas" and "level=grid" in u]
    page.evaluate("gridgovMap.setView([39.025, 116.0125], 14, {animate: false})")
    page.wait_for_function(PAINTED_JS, arg="gridgov-grid", timeout=WAIT)
    assert tile_paths(requested, "grids")
    assert all(p.endswith(".pbf") for p in tile_paths(requested, "grids"))
    assert tile_paths(requested, "buildings") == []  # not below zoom 15

    # hovering a grid drawn from a tile shows its code and name from the tile's attributes
    at = point_in_page(page, 39.025, 116.0125, 14)
    the_map = page.locator(".folium-map")
    the_map.hover(position=at)
    the_map.hover(position={"x": at["x"] + 3, "y": at["y"] + 3})
    expect(page.locator(".leaflet-tooltip")).to_contain_text(G1, timeout=WAIT)
    expect(page.locator(".leaflet-tooltip")).to_contain_text("一社区第1网格")
    # a click on a tile feature runs VectorGrid's click path (L.DomEvent.fakeStop): no page error
    the_map.click(position=at)

    # zoomed in on building 一号楼: its footprint comes from /tiles/buildings and is painted
    page.evaluate("gridgovMap.setView([39.0105, 116.02425], 18, {animate: false})")
    page.wait_for_function(PAINTED_JS, arg="gridgov-building", timeout=WAIT)
    assert {p.split("/")[3] for p in tile_paths(requested, "buildings")} == {"18"}

    assert b.blocked == []
    assert [
        u
        for u in requested
        if urlsplit(u).hostname not in {"127.0.0.1", None}
        and urlsplit(u).scheme in {"http", "https"}
    ] == []
    assert b.problems == []
