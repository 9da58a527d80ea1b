"""The console's own incident tile layer (static/dispatch_tiles.js): what it reads and paints.

Large mode (more incidents than GRIDGOV_INCIDENT_MARKERS=3) draws /tiles/incidents as dots on one
canvas per tile, reading the vector tile itself. Checked here against the server: the reader
gives back every incident of a tile with its id, status and overdue flag, and the dot at an
incident's place on the canvas has its status's colour (an overdue one a red ring). Reloaded,
the console asks for the tiles alongside the list (the last load needed them), each tile once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, make_user, sign_in_to_console
from tests.test_pages import needs_chromium, serve
from web_map.workflow_labels import STATUSES

MARKERS_MAX = 3
ZOOM = 14
SPOTS = [(39.020, 116.010), (39.022, 116.016), (39.024, 116.022), (39.030, 116.040)]


@pytest.fixture
def live(world_db: str) -> Iterator[str]:
    config = settings_for(world_db)
    config.map.incident_markers = MARKERS_MAX
    yield from serve(config)


def rgb(color: str) -> list[int]:
    return [int(color[i : i + 2], 16) for i in (1, 3, 5)]


# The RGBA of the incident canvas under a map point (the canvas tile holding it), unblended.
PIXEL_JS = """([lat, lon, dx]) => {
  const p = gridgovMap.latLngToContainerPoint([lat, lon]);
  const box = gridgovMap.getContainer().getBoundingClientRect();
  const x = box.left + p.x + dx, y = box.top + p.y;
  for (const canvas of document.querySelectorAll(".leaflet-gridgov-incident-tiles-pane canvas")) {
    const r = canvas.getBoundingClientRect();
    if (x < r.left || x >= r.right || y < r.top || y >= r.bottom) continue;
    const k = canvas.width / r.width;
    const d = canvas.getContext("2d").getImageData(Math.floor((x - r.left) * k),
                                                   Math.floor((y - r.top) * k), 1, 1).data;
    return Array.from(d);
  }
  return null;
}"""

READ_JS = """async (url) => {
  const buffer = await (await fetch(url)).arrayBuffer();
  return GridGov.readVectorTile(buffer).flatMap((layer) => layer.features.map((f) => ({
    ...f.properties, n: f.points.length / 2, extent: layer.extent})));
}"""


@pytest.mark.browser
@needs_chromium
def test_incident_tiles_are_read_and_painted_as_the_server_has_them(
    live: str,
    browsers: Any,
    world_db: str,
) -> None:
    make_user(world_db, "boss", "dispatcher", area="110199")
    ids = []
    with httpx.Client(base_url=live, timeout=10) as client:
        for lat, lon in SPOTS:
            body = {"category": "SJ0102", "location": {"lon": lon, "lat": lat}}
            r = client.post("/api/v1/incidents", json=body)
            assert r.status_code == 201, r.text
            ids.append(str(r.json()["id"]))
    # one of them overdue: due an hour ago
    with psycopg.connect(world_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE incidents SET due_at = %s WHERE public_id = %s",
            (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), ids[1]),
        )
    b = browsers()
    page = b.page
    sign_in_to_console(page, live, "boss")
    status = page.locator("#status")
    expect(status).to_have_attribute("data-mode", "tiles", timeout=WAIT)
    page.evaluate(f"gridgovMap.setView([39.025, 116.025], {ZOOM}, {{animate: false}})")
    expect(status).to_have_attribute("data-tiles", "loaded", timeout=WAIT)

    # the reader: every incident of the tiles in view, as GET /api/v1/incidents/{id} has it
    urls = page.evaluate(
        """() => [...new Set(performance.getEntriesByType("resource").map((e) => e.name)
                 .filter((u) => u.includes("/tiles/incidents/14/")))]"""
    )
    assert urls
    read: dict[str, dict[str, Any]] = {}
    for url in urls:
        for feature in page.evaluate(READ_JS, url):
            read[feature["id"]] = feature
    assert set(read) == set(ids)
    statuses = {}
    with httpx.Client(base_url=live, timeout=10) as client:
        for incident in ids:
            statuses[incident] = client.get(f"/api/v1/incidents/{incident}").json()["status"]
            assert read[incident]["status"] == statuses[incident]
    assert [read[i]["overdue"] for i in ids] == [False, True, False, False]
    assert all(f["n"] == 1 and f["extent"] == 4096 for f in read.values())

    # the painting: a dot of the status's colour at each incident, an overdue one ringed red
    for (lat, lon), incident in zip(SPOTS, ids, strict=True):
        pixel = page.evaluate(PIXEL_JS, [lat, lon, 0])
        color = rgb(STATUSES[statuses[incident]][1])
        assert pixel is not None, incident
        assert all(abs(a - b) <= 3 for a, b in zip(pixel[:3], color, strict=True)), pixel
        assert pixel[3] >= 220, pixel  # fill opacity 0.9
    # on the 5 px circle: the overdue one's 2.5 px #d00000 ring covers the pixel, the others'
    # 1 px white ring at least half of it
    ring = page.evaluate(PIXEL_JS, [*SPOTS[1], 5])
    assert ring is not None and ring[0] >= 190 and ring[1] <= 40, ring
    plain = page.evaluate(PIXEL_JS, [*SPOTS[0], 5])
    assert plain is not None and plain[1] >= 120, plain
    # nowhere near an incident the canvas is clear
    empty = page.evaluate(PIXEL_JS, [39.027, 116.030, 0])
    assert empty is None or empty[3] == 0, empty

    # Reloaded with the same filters: the tiles are asked for alongside the list (the last load
    # needed them), not after it — while the list is held back a second they already come — and
    # each once (the full reload no longer redraws them a second later).
    def held(route: Any) -> None:
        time.sleep(1.0)
        route.continue_()

    page.route(lambda url: "/api/v1/incidents?" in url, held)
    tiles: list[str] = []
    page.on("request", lambda r: "/tiles/incidents/" in r.url and tiles.append(r.url))
    page.reload()
    expect(status).to_have_attribute("data-mode", "tiles", timeout=WAIT)
    expect(status).to_have_attribute("data-tiles", "loaded", timeout=WAIT)
    order = page.evaluate(
        """() => {
          const all = performance.getEntriesByType("resource");
          const list = all.find((e) => e.name.includes("/api/v1/incidents?"));
          const first = Math.min(...all.filter((e) => e.name.includes("/tiles/incidents/"))
                                        .map((e) => e.startTime));
          return [first, list.responseStart];
        }"""
    )
    assert order[0] < order[1] - 500, order
    page.wait_for_timeout(2000)
    assert tiles and len(tiles) == len(set(tiles)), tiles
    assert b.blocked == [] and b.problems == []
