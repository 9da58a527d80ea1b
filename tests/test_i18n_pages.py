"""Every page in the pseudo-locale: each visible text must come out of the catalogue.

With ?lang=qps every catalogued text is shown as "［…］". A visible text node (or placeholder)
whose letters are not all inside brackets is a text outside the catalogue, unless it is data
(area, department, category, user names and codes, incident ids and descriptions). Run at the
two sizes the pages are made for.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect
from psycopg.rows import dict_row

from tests.conftest import settings_for
from tests.pages_workflow_util import WAIT, Screen, make_user, send_sign_in
from tests.test_pages import needs_chromium, serve

# dates and times in the page's locale format (the pseudo-locale formats as English does)
DATES = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}(, \d{1,2}:\d{2})?")
INNERMOST = re.compile(r"［[^［］]*］")  # a catalogued text; placeholders may hold another

COLLECT = """() => {
  const texts = [];
  // Leaflet's own corner controls: the scale (units) and the attribution (its name, the base
  // map's credit as configured) are not GridGov's words.
  const skip = (el) => el.closest("[data-i18n-skip], .leaflet-control-scale, .leaflet-control-attribution");
  const shown = (el) => {
    const box = el.closest("select") || el;
    return box.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || ["SCRIPT", "STYLE"].includes(el.tagName) || skip(el) || !shown(el)) continue;
    texts.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder]")) {
    if (!skip(el) && shown(el)) texts.push(el.getAttribute("placeholder"));
  }
  texts.push(document.title);
  return texts;
}"""


def data_strings(world_db: str) -> list[str]:
    """Names and codes the pages show as data, longest first (so names win over their parts)."""
    queries = [
        "SELECT name, code FROM areas",
        "SELECT name, code FROM departments",
        "SELECT name, code FROM categories",
        "SELECT name, name AS code FROM users",
        "SELECT coalesce(description, '') AS name, public_id AS code FROM incidents",
    ]
    found: set[str] = set()
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        for query in queries:
            for row in conn.execute(query):  # the test world: a few dozen rows
                found.update(v for v in (row["name"], row["code"]) if v)
    return sorted(found, key=len, reverse=True)


def uncatalogued(texts: list[str], data: list[str]) -> list[str]:
    """The texts with letters left once catalogued text and data are taken out."""
    bad = []
    for text in texts:
        rest = DATES.sub(" ", text)
        for value in data:
            rest = rest.replace(value, " ")
        while INNERMOST.search(rest):
            rest = INNERMOST.sub(" ", rest)
        if any(unicodedata.category(c).startswith("L") for c in rest):  # a letter, Latin or CJK
            bad.append(text)
    return bad


@pytest.fixture
def pseudo_live(world_db: str) -> Iterator[tuple[str, str]]:
    """The app with the pseudo-locale allowed, one incident filed, an admin who can sign in."""
    settings = settings_for(world_db)
    settings.i18n.pseudo_locale = True
    make_user(world_db, "ada", "admin")
    for base in serve(settings):
        report = {
            "category": "SJ0102",
            "location": {"lon": 116.012, "lat": 39.021},
            "description": "路灯不亮",
        }
        r = httpx.post(base + "/api/v1/incidents", json=report, timeout=30)
        assert r.status_code == 201, r.text
        yield base, r.json()["id"]


def ready(page: Page, path: str) -> None:
    """Wait for the page's own 'done' signal."""
    if path == "/login":
        expect(page.locator("form[action='/login']")).to_be_visible()
    elif path == "/reports":
        expect(page.locator("#gg-mine")).to_have_attribute("data-state", "ready", timeout=WAIT)
    elif path.endswith("/print"):  # server-rendered, no script state
        expect(page.locator("#gg-print")).to_be_visible()
    elif path == "/report":
        expect(page.locator("#gg-report")).to_have_attribute("data-ready", "true", timeout=WAIT)
    elif path == "/patrol":  # the page's state leaves "loading" (idle, or denied for an admin)
        patrol = page.locator("#gg-patrol")
        expect(patrol).not_to_have_attribute("data-state", "loading", timeout=WAIT)
    else:
        expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)


@pytest.mark.browser
@needs_chromium
def test_every_visible_text_comes_from_the_catalogue(
    pseudo_live: tuple[str, str], screen: Screen, world_db: str
) -> None:
    base, public_id = pseudo_live
    b = screen.open()
    page = b.page
    page.goto(base + "/lang/qps?next=/login")
    data = data_strings(world_db)
    found: dict[str, list[str]] = {}
    scales: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        """Open a page, wait for it, and note its uncatalogued texts and its scale bar."""
        page.goto(base + path)
        ready(page, path)
        found[path] = uncatalogued(page.evaluate(COLLECT), data)
        scales[path] = page.locator(".leaflet-control-scale-line").all_inner_texts()

    for path in ["/login", "/", "/report", f"/report/{public_id}", "/reports"]:
        visit(path)
    page.goto(base + "/login")
    send_sign_in(page, "ada")
    expect(page).to_have_url(base + "/map/dispatch")
    signed_in = ["/map/dispatch", "/map/edit", "/map/stats", "/patrol", f"/cases/{public_id}/print"]
    for path in signed_in:
        visit(path)
    # the case panel of the incident, with its actions and timeline
    page.goto(base + "/map/dispatch")
    ready(page, "/map/dispatch")
    page.locator("#gg-list .gg-list-item").first.dispatch_event("click")
    expect(page.locator("#gg-case")).to_have_attribute("data-state", "ready", timeout=WAIT)
    found["case panel"] = uncatalogued(page.evaluate(COLLECT), data)
    problems = {path: texts for path, texts in found.items() if texts}
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
    # every map page has one scale bar, in metres or kilometres only (no miles or feet)
    maps = [p for p in scales if p not in ("/login", f"/cases/{public_id}/print")]
    assert all(len(scales[p]) == 1 for p in maps), scales
    assert all(re.fullmatch(r"\d+ k?m", scales[p][0]) for p in maps), scales
    assert b.problems == []
