"""Helpers of the boundary-editor page tests: an officer, a signed-in offline browser, drawing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from psycopg.rows import dict_row

from api.services.identity.auth import add_user
from api.services.identity.sessions import set_password
from tests.areas_util import C1
from tests.conftest import settings_for
from tests.test_pages import local_only, serve

OFFICER = "grid-officer"
PASSWORD = "correct horse battery"
WAIT = 15_000  # ms: a ceiling; every wait is for an explicit state in the page
# Chromium logs every 4xx the page provokes on purpose (412, 422) as a console error.
EXPECTED_HTTP = re.compile(r"the server responded with a status of (412|422)")


def make_officer(world_db: str, name: str = OFFICER, area: str = C1) -> None:
    """An officer (scoped to community C1 unless told) who can sign in with PASSWORD."""
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        add_user(conn, name, "officer", area, None)
        set_password(conn, name, PASSWORD)


class EditorBrowser:
    """A signed-in page whose non-local requests are aborted and recorded."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.blocked: list[str] = []
        self.problems: list[str] = []
        page.on("console", self.console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.route("**/*", self.route)

    def route(self, route: Any) -> None:
        """Let requests to 127.0.0.1 through; abort and record everything else."""
        local_only(route, self.blocked)

    def console(self, message: ConsoleMessage) -> None:
        """Console errors, except Chromium's log of the 412/422 answers provoked on purpose."""
        if message.type == "error" and not EXPECTED_HTTP.search(message.text):
            self.problems.append(f"{message.text} at {message.location}")

    def sign_in(self, name: str = OFFICER) -> None:
        """Open the editor, get sent to /login, sign in, and wait for community C1 to load."""
        page = self.page
        page.goto(self.base + "/map/edit")
        expect(page).to_have_url(self.base + "/login?next=/map/edit")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{self.base}/map/edit?parent={C1}", timeout=WAIT)
        self.wait_ready(2)
        assert page.locator("#gg-parent").input_value() == C1

    def wait_ready(self, grids: int) -> None:
        """The parent's children are loaded: `grids` of them."""
        status = self.page.locator("#status")
        expect(status).to_have_attribute("data-state", "ready", timeout=WAIT)
        expect(status).to_have_text(f"一社区 ({C1}): {grids} grids", timeout=WAIT)
        expect(self.page.locator("#gg-children li")).to_have_count(grids)

    def view(self, lon: float, lat: float, zoom: int) -> None:
        """Centre the map on lon/lat."""
        self.page.evaluate(
            "([lat, lon, zoom]) => gridgovMap.setView([lat, lon], zoom, {animate: false})",
            [lat, lon, zoom],
        )

    def pixels(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Page pixel positions of lon/lat points (map.latLngToContainerPoint + the map's box)."""
        frame = self.page.locator(".folium-map").bounding_box()
        assert frame is not None
        xy = self.page.evaluate(
            "(pts) => pts.map(([lon, lat]) => {"
            " const p = gridgovMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; })",
            [list(p) for p in points],
        )
        return [(frame["x"] + x, frame["y"] + y) for x, y in xy]

    def draw_polygon(self, corners: list[tuple[float, float]]) -> None:
        """Draw new: click each corner, then the first one again to finish."""
        self.page.click("#gg-draw")
        expect(self.page.locator("#gg-message")).to_have_attribute("data-kind", "info")
        spots = self.pixels(corners)
        for x, y in spots:
            self.page.mouse.click(x, y)
        self.page.mouse.click(*spots[0])
        expect(self.page.locator("#gg-draft")).to_have_attribute("data-kind", "create")
        expect(self.page.locator("#gg-message")).to_be_hidden()
        expect(self.page.locator("#gg-draft")).to_be_visible()

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Drag the vertex at lon/lat `start` to `end`."""
        (x0, y0), (x1, y1) = self.pixels([start, end])
        self.page.mouse.move(x0, y0)
        self.page.mouse.down()
        self.page.mouse.move(x1, y1, steps=12)
        self.page.mouse.up()

    def start_editing(self, code: str) -> None:
        """Select an area in the list and switch its vertices to editing."""
        self.page.click(f'#gg-children li[data-code="{code}"] button')
        expect(self.page.locator("#gg-history-list li")).not_to_have_count(0)
        self.page.click("#gg-edit")
        expect(self.page.locator("#gg-draft")).to_have_attribute("data-kind", "update")

    def message(self, kind: str) -> Any:
        """The message box, once it shows `kind`."""
        box = self.page.locator("#gg-message")
        expect(box).to_have_attribute("data-kind", kind, timeout=WAIT)
        return box

    def assert_offline(self) -> None:
        """Nothing left 127.0.0.1 and nothing unexpected was logged."""
        assert self.blocked == []
        assert self.problems == []


@contextmanager
def signed_in(world_db: str, chromium: Browser, name: str) -> Iterator[EditorBrowser]:
    """The app serving the world (no base map) and an offline browser signed in as `name`."""
    server = serve(settings_for(world_db))
    base = next(server)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        browser = EditorBrowser(context.new_page(), base)
        browser.sign_in(name)
        yield browser
    finally:
        context.close()
        server.close()


def grids_of_c1(api: httpx.Client) -> dict[str, Any]:
    """Current grids of community C1 by code."""
    r = api.get("/api/v1/areas", params={"parent": C1})
    assert r.status_code == 200, r.text
    return {f["id"]: f for f in r.json()["features"]}


def located_grid(api: httpx.Client, lon: float, lat: float) -> str:
    """The grid /locate assigns a point to."""
    r = api.get("/api/v1/locate", params={"lon": lon, "lat": lat})
    assert r.status_code == 200, r.text
    return str(r.json()["assignment"]["grid"]["code"])


def report(api: httpx.Client, lon: float, lat: float) -> str:
    """An open incident at a point; its public id."""
    r = api.post(
        "/api/v1/incidents",
        json={
            "category": "SJ0102",
            "description": "暴露垃圾",
            "location": {"lon": lon, "lat": lat},
        },
        headers={"Idempotency-Key": f"edit-page-{lon}-{lat}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
