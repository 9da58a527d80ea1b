"""The boundary editor page /map/edit over HTTP: sign-in first, local assets only, Geoman
vendored with its licence. Editing in a real browser: tests/test_pages_edit.py.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.settings import MapSettings
from tests.areas_util import C1
from tests.pages_edit_util import OFFICER, PASSWORD, make_officer
from tests.test_pages import TILE_URL, external_urls
from web_map.edit import edit_page
from web_map.pages import page_references

GEOMAN = "/static/vendor/leaflet-geoman"


def test_editor_sends_anonymous_visitors_to_sign_in(world: TestClient) -> None:
    r = world.get("/map/edit", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/map/edit"
    r = world.get(f"/map/edit?parent={C1}", follow_redirects=False)
    assert r.headers["location"] == f"/login?next=/map/edit%3Fparent%3D{C1}"
    # a bad token is refused outright, not redirected
    assert world.get("/map/edit", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_editor_comes_back_after_sign_in_and_loads_only_local_files(
    world: TestClient, world_db: str
) -> None:
    make_officer(world_db)
    r = world.post(
        "/login",
        data={"name": OFFICER, "password": PASSWORD, "next": f"/map/edit?parent={C1}"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/map/edit?parent={C1}")
    page = world.get("/map/edit")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    refs = page_references(page.text)
    for ref in (
        "/static/vendor/leaflet/leaflet.js",
        f"{GEOMAN}/leaflet-geoman.js",
        f"{GEOMAN}/leaflet-geoman.css",
        "/static/gridgov.js",
        "/static/edit.js",
        "/static/edit_tools.js",
        "/static/gridgov.css",
    ):
        assert ref in refs, ref
    # Geoman patches Leaflet as it loads: after Leaflet, before any page script
    assert (
        refs.index(f"{GEOMAN}/leaflet-geoman.js")
        == refs.index("/static/vendor/leaflet/leaflet.js") + 1
    )
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert world.get(ref).status_code == 200, ref
    assert external_urls(page.text) == []
    for name in ("jquery", "bootstrap", "awesome", "cdn", "unpkg"):
        assert name not in page.text.lower(), name
    # no base map URL configured: GridGov's own base map, from this origin
    assert re.findall(r'L\.tileLayer\(\s*"([^"]*)"', page.text) == ["/basemap/{z}/{x}/{y}.png"]


def test_editor_with_a_basemap_references_only_that_template() -> None:
    html = edit_page(MapSettings(basemap_url=TILE_URL))
    assert "L.tileLayer" in html
    assert external_urls(html) == [TILE_URL]
    assert all(ref.startswith("/static/") for ref in page_references(html))


def test_geoman_is_vendored_with_its_licence(world: TestClient) -> None:
    js = world.get(f"{GEOMAN}/leaflet-geoman.js")
    assert js.status_code == 200
    assert 'name:"@geoman-io/leaflet-geoman-free",version:"2.17.0"' in js.text
    licence = world.get(f"{GEOMAN}/LICENSE")
    assert licence.status_code == 200 and licence.text.startswith("MIT License")
    readme = world.get("/static/vendor/README.md").text
    assert "| Leaflet-Geoman (free) | 2.17.0 |" in readme
    # its stylesheet draws icons from inline data: URLs only
    css = world.get(f"{GEOMAN}/leaflet-geoman.css").text
    assert [
        u for u in re.findall(r"url\(['\"]?([^'\")]+)", css) if not u.startswith(("data:", "%23"))
    ] == []
