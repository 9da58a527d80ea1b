"""Helpers for the closed-loop page tests: users with passwords, offline browser contexts, steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
from playwright.sync_api import Page, expect
from psycopg.rows import dict_row

from api.services.identity.auth import add_user
from api.services.identity.sessions import set_password
from tests.conftest import browsers  # noqa: F401  (fixture, for modules that import it here)
from tests.test_pages import Offline
from tests.test_pages import point_in_page as point_in_page

PASSWORD = "correct horse battery"
WAIT = 15_000  # ms; every wait is for an explicit state attribute, this is only the ceiling


def make_user(
    world_db: str, name: str, role: str, area: str | None = None, department: str | None = None
) -> None:
    """A user who can sign in to the pages with PASSWORD."""
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        add_user(conn, name, role, area, department)
        set_password(conn, name, PASSWORD)


def give_password(world_db: str, *names: str) -> None:
    """Let existing users (e.g. tests.loop's cast) sign in to the pages with PASSWORD."""
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        for name in names:
            set_password(conn, name, PASSWORD)


class Screen:
    """Browser contexts of one size (the `screen` fixture of tests/conftest.py runs a test at each
    of its SIZES) that can only reach 127.0.0.1 (tests/test_pages.py `Offline`)."""

    def __init__(self, new: Callable[..., Offline], width: int, height: int) -> None:
        self.new = new
        self.width = width
        self.height = height

    def open(self, **options: Any) -> Offline:
        """A new context and page of this size (`options` as Browser.new_context takes them)."""
        return self.new(viewport={"width": self.width, "height": self.height}, **options)

    def console(self, base: str, name: str, locale: str = "zh-CN") -> Offline:
        """A new page signed in to the dispatch console as `name` (password PASSWORD)."""
        state = self.open(locale=locale)
        sign_in_to_console(state.page, base, name)
        return state


def send_sign_in(page: Page, name: str) -> None:
    """Fill the sign-in form on the page with `name` and PASSWORD, and send it."""
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def sign_in_to_console(page: Page, base: str, name: str) -> None:
    """Open /map/dispatch, get sent to the sign-in form, sign in, and wait for the live console."""
    page.goto(base + "/map/dispatch")
    expect(page).to_have_url(re.compile(r"/login\?next=/map/dispatch$"))
    send_sign_in(page, name)
    expect(page).to_have_url(base + "/map/dispatch")
    wait_for_console(page)


def wait_for_console(page: Page) -> None:
    """The console has loaded its incidents and its live stream is open."""
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(page.locator("#gg-live")).to_have_attribute("data-state", "live", timeout=WAIT)


def marker(page: Page, incident: str) -> Any:
    """The map marker of an incident."""
    return page.locator(f'.gg-inc[data-incident="{incident}"]')


def open_case(page: Page, incident: str) -> None:
    """Centre the map on the incident's marker, click it, and wait for its case panel."""
    page.evaluate(
        """(id) => new Promise((resolve) => {
            const m = GridGov.dispatch.markers.get(id);
            gridgovMap.setView(m.getLatLng(), 20, {animate: false});
            // still in a cluster (markers metres apart): let markercluster open it up
            GridGov.dispatch.cluster.zoomToShowLayer(m, () => {
                gridgovMap.panTo(m.getLatLng(), {animate: false});
                resolve();
            });
        })""",
        incident,
    )
    marker(page, incident).click()
    case = page.locator("#gg-case")
    expect(case).to_have_attribute("data-incident", incident, timeout=WAIT)
    expect(case).to_have_attribute("data-state", "ready", timeout=WAIT)


def action_buttons(page: Page) -> list[str]:
    """The actions the case panel offers, in order."""
    buttons = page.locator("#gg-actions button.gg-action")
    return [str(b.get_attribute("data-action")) for b in buttons.all()]


def take_action(page: Page, action: str, then: str, fill: dict[str, str] | None = None) -> None:
    """Click an action, fill its form (selector → value), confirm, and wait for status `then`."""
    page.locator(f'#gg-actions button[data-action="{action}"]').click()
    form = page.locator(f'#gg-action-form[data-action="{action}"]')
    expect(form).to_be_visible()
    for selector, value in (fill or {}).items():
        form.locator(selector).fill(value)
    form.locator("button.gg-confirm").click()
    expect(page.locator("#gg-case")).to_have_attribute("data-status", then, timeout=WAIT)
    expect(page.locator("#gg-action-form")).to_have_count(0)


def timeline(page: Page) -> list[str]:
    """The actions of the case panel's timeline, oldest first."""
    items = page.locator("#gg-timeline li")
    return [str(li.get_attribute("data-action")) for li in items.all()]


def point_in_clear_map(page: Page, lat: float, lon: float, zoom: int) -> dict[str, float]:
    """Show lat/lon at zoom where no panel or control covers the map (the first such spot of a
    coarse grid over the map, scanned from its centre outwards); its pixel position in the map."""
    return page.evaluate(
        """([lat, lon, zoom]) => {
            const map = gridgovMap, box = map.getContainer().getBoundingClientRect();
            map.setView([lat, lon], zoom, {animate: false});
            const clear = (x, y) => {
                const hit = document.elementFromPoint(box.left + x, box.top + y);
                return hit !== null && map.getContainer().contains(hit)
                    && !hit.closest('.leaflet-control-container');
            };
            const spots = [];
            for (let y = 40; y < box.height - 40; y += 20)
                for (let x = 40; x < box.width - 40; x += 20) spots.push([x, y]);
            const c = [box.width / 2, box.height / 2];
            spots.sort((a, b) => Math.hypot(a[0] - c[0], a[1] - c[1])
                - Math.hypot(b[0] - c[0], b[1] - c[1]));
            const spot = spots.find(([x, y]) => clear(x, y));
            const at = map.latLngToContainerPoint([lat, lon]);
            map.panBy([at.x - spot[0], at.y - spot[1]], {animate: false});
            const p = map.latLngToContainerPoint([lat, lon]);
            return {x: p.x, y: p.y};
        }""",
        [lat, lon, zoom],
    )


def located_in_g1(page: Page, base: str) -> Any:
    """Open /report, wait for it, and place the report by a click on the map in grid G1; the
    form's root element, now `located`."""
    page.goto(base + "/report")
    root = page.locator("#gg-report")
    expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
    at = point_in_page(page, 39.02, 116.010, 16)
    page.locator(".folium-map").click(position=at)
    expect(root).to_have_attribute("data-state", "located", timeout=WAIT)
    return root
