"""The dispatch console and the evaluation map: time until /map/dispatch and /map/stats are
interactive in headless Chromium.

A dispatcher scoped to the district signs in through /login; then the page is opened N times in
the same browser context (the first with an empty HTTP cache). "Interactive" is the moment the
page's own readiness attributes say so, the same ones the page tests wait for:
- /map/dispatch: #status[data-state=ready] (incidents loaded and drawn: markers placed, or — with
  more incidents than one page — #status[data-tiles=loaded], the incident vector tiles in view
  painted) and #gg-live[data-state=live] (the event stream is open);
- /map/stats: #status[data-state=ready] (the district's areas drawn at the default level, grids,
  and coloured by their figures; the departments' table and the negative list shown).

Two clocks: the page's own (MARKS_JS, a MutationObserver noting `performance.now()`, i.e. time
since navigation start, when each attribute is set) and the harness's (wall time until Playwright
saw it: polling through the DevTools protocol, which on a loaded machine lags the page by up to
a second). The target is read on the page's own clock; both are printed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import psycopg
from psycopg.rows import dict_row
from rich.table import Table

from api.errors import Conflict
from api.services.identity.auth import add_user
from api.services.identity.sessions import set_password
from bench.common import CHROMIUM, CHROMIUM_ARGS, LocalOnly, console
from bench.servers import Server

USER, PASSWORD = "bench-dispatcher", "bench password 2026"


@dataclass(frozen=True)
class Spec:
    """What "interactive" waits for on a page, besides #status[data-state=ready]."""

    drawn: bool  # the incidents drawn (markers, or the vector tiles in view painted)
    live: bool  # the event stream open


PAGES = {"/map/dispatch": Spec(drawn=True, live=True), "/map/stats": Spec(drawn=False, live=False)}
TIMEOUT_MS = 120_000
DRAWN_JS = """() => {
  const s = document.getElementById("status");
  const mode = s.dataset.mode;
  return mode === "markers" || (mode === "tiles" && s.dataset.tiles === "loaded");
}"""

# Installed before the page's scripts (after `window.__ggSpec`, the page's Spec): note when the
# readiness attributes are first set.
MARKS_JS = """
window.__ggMarks = {};
document.addEventListener("DOMContentLoaded", () => {
  const marks = window.__ggMarks;
  const s = document.getElementById("status");
  const live = document.getElementById("gg-live");
  const note = () => {
    const now = performance.now();
    const mode = s.dataset.mode;
    const drawn = !window.__ggSpec.drawn || mode === "markers"
      || (mode === "tiles" && s.dataset.tiles === "loaded");
    if (!("ready" in marks) && s.dataset.state === "ready" && drawn) marks.ready = now;
    if (!("live" in marks) && live && live.dataset.state === "live") marks.live = now;
  };
  const watch = {attributes: true, attributeFilter: ["data-state", "data-mode", "data-tiles"]};
  new MutationObserver(note).observe(s, watch);
  if (live) new MutationObserver(note).observe(live, watch);
  note();
});
"""

# Where the time went: the API paths the page fetched, grouped, by total duration.
SLOWEST_JS = """() => {
  const groups = {};
  for (const e of performance.getEntriesByType("resource")) {
    const u = new URL(e.name);
    if (!u.pathname.startsWith("/api/")) continue;
    const g = (groups[u.pathname] = groups[u.pathname] || {n: 0, ms: 0, kb: 0});
    g.n += 1; g.ms += e.duration; g.kb += (e.encodedBodySize || 0) / 1024;
  }
  return Object.entries(groups).sort((a, b) => b[1].ms - a[1].ms).slice(0, 3)
    .map(([p, g]) => `${p} ×${g.n} ${(g.ms / 1000).toFixed(2)} s ${g.kb.toFixed(0)} KB`)
    .join("; ");
}"""


@dataclass
class PageRun:
    """Seconds from navigation start to each milestone, and what the page showed."""

    dom_s: float
    ready_s: float
    live_s: float
    status_text: str
    requests: int
    foreign: list[str] = field(default_factory=list)
    slowest: str = ""
    page_ready_s: float = 0.0  # the page's own clock (MARKS_JS), from navigation start
    page_live_s: float = 0.0

    @property
    def interactive_s(self) -> float:
        """Drawn and live, on the page's own clock (the figure the target is read on)."""
        return max(self.page_ready_s, self.page_live_s)


def make_dispatcher(url: str, area: str) -> None:
    """A dispatcher for `area` who can sign in with PASSWORD (kept from an earlier run: reused)."""
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        try:
            add_user(conn, USER, "dispatcher", area, None)
        except Conflict:  # a database the benchmark ran on before
            pass
        set_password(conn, USER, PASSWORD)


def run_page(
    server: Server, area: str, url: str, runs: int, path: str = "/map/dispatch"
) -> list[PageRun]:
    """Sign in once, then open the page `path` (one of PAGES) `runs` times; the timings of each."""
    from playwright.sync_api import sync_playwright

    spec = PAGES[path]
    make_dispatcher(url, area)
    out: list[PageRun] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.add_init_script(f"window.__ggSpec = {json.dumps(asdict(spec))};\n{MARKS_JS}")
        route = LocalOnly()
        page.route("**/*", route)
        page.goto(server.base + "/login?next=" + path)
        page.fill("input[name=name]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server.base + path, timeout=TIMEOUT_MS)
        page.goto("about:blank")
        for i in range(runs):
            with console.status(f"page: {path} ({i + 1}/{runs})"):
                route.count = 0
                t0 = time.perf_counter()
                page.goto(server.base + path, wait_until="domcontentloaded")
                dom = time.perf_counter() - t0
                page.wait_for_selector("#status[data-state=ready]", timeout=TIMEOUT_MS)
                if spec.drawn:
                    # with more incidents than one page the map draws them from vector tiles:
                    # drawn means those tiles are painted too, not just the list filled
                    page.wait_for_function(DRAWN_JS, timeout=TIMEOUT_MS)
                ready = live = time.perf_counter() - t0
                if spec.live:
                    page.wait_for_selector("#gg-live[data-state=live]", timeout=TIMEOUT_MS)
                    live = time.perf_counter() - t0
                text = page.locator("#status").inner_text()
                slowest = page.evaluate(SLOWEST_JS)
                marks = page.evaluate("window.__ggMarks")
                run = PageRun(dom, ready, live, text, route.count, list(route.foreign), slowest)
                run.page_ready_s = marks["ready"] / 1000
                run.page_live_s = marks.get("live", 0) / 1000
                out.append(run)
                page.goto("about:blank")
        context.close()
        browser.close()
    return out


def page_table(
    runs: list[PageRun], incidents: int, grids: int, path: str = "/map/dispatch"
) -> Table:
    """One row per page load; drawn and interactive on the page's own clock (see the top)."""
    t = Table(
        title=f"5. Page: {path} until interactive, headless Chromium, "
        f"{incidents:,} incidents, {grids:,} grids",
        title_justify="left",
    )
    t.add_column("load")
    drawn = "incidents drawn s" if PAGES[path].drawn else "ready s"
    cols = ("DOM ready s", drawn, "interactive s", "seen by harness s")
    for col in (*cols, "requests", "non-local"):
        t.add_column(col, justify="right")
    t.add_column("API time by path (summed request durations)")
    for i, r in enumerate(runs):
        t.add_row(
            "first (empty cache)" if i == 0 else f"again #{i}",
            f"{r.dom_s:.2f}",
            f"{r.page_ready_s:.2f}",
            f"{r.interactive_s:.2f}",
            f"{max(r.ready_s, r.live_s):.2f}",
            str(r.requests),
            str(len(r.foreign)),
            r.slowest,
        )
    return t
