"""`make screenshots`: every page at 390×844 and 1366×768, in zh_CN and en, into docs/screenshots/.

Runs the real thing: a throwaway PostgreSQL cluster, the migrations, the Haidian demo
(`gridgov demo`), the app under uvicorn, and headless Chromium (fonts-noto-cjk for the Chinese).
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from psycopg.rows import dict_row

from api.db.embedded import EmbeddedCluster
from api.db.migrate import upgrade
from api.main import create_app
from api.services.demo import load_demo
from api.settings import DatabaseSettings, Settings

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
LANGUAGES = ("zh_CN", "en")
CHROMIUM = "/usr/bin/chromium"
WAIT = 60_000  # ms: the demo's maps on a busy machine


# 中国农业大学东校区, in the demo's 学院路街道
DEMO_POSITION = {"latitude": 40.0025, "longitude": 116.3525}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """The app serving the demo on a free port, the demo users' passwords, and the cases the
    guide shows (`cases`: a case with an open whistle, a closed case)."""
    home = Path(tempfile.mkdtemp(prefix="gridgov-shots-"))
    home.chmod(0o755)
    cluster = EmbeddedCluster(home=home, port=_free_port(), dbname="gridgov", durable=False)
    cluster.up()
    try:
        url = cluster.url()
        upgrade(url)
        settings = Settings(db=DatabaseSettings(database_url=url))
        with psycopg.connect(url, row_factory=dict_row) as conn:
            report = load_demo(conn, settings)
            conn.commit()
        passwords = {name: password for name, _role, password in report.new_users}
        with psycopg.connect(url, row_factory=dict_row) as conn:
            cases = demo_cases(conn)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", passwords, cases
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def demo_cases(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Public ids of a case with an open whistle and of a closed (rated) case of the demo."""
    whistled = conn.execute(
        "SELECT i.public_id FROM whistles w JOIN incidents i ON i.id = w.incident_id "
        "WHERE w.ended_at IS NULL ORDER BY w.called_at DESC LIMIT 1"
    ).fetchone()
    closed = conn.execute(
        "SELECT public_id FROM incidents WHERE status = 'closed' ORDER BY closed_at DESC LIMIT 1"
    ).fetchone()
    return {
        "whistle": whistled["public_id"] if whistled else "",
        "closed": closed["public_id"] if closed else "",
    }


def ready(page: Page, path: str) -> None:
    """Wait until the page says it has loaded."""
    if path == "/report":
        expect(page.locator("#gg-report")).to_have_attribute("data-ready", "true", timeout=WAIT)
    elif path == "/reports":
        expect(page.locator("#gg-mine")).to_have_attribute("data-state", "ready", timeout=WAIT)
    elif path == "/patrol":
        expect(page.locator("#gg-patrol")).to_have_attribute("data-ready", "true", timeout=WAIT)
    elif path.endswith("/print"):
        expect(page.locator("#gg-print")).to_be_visible(timeout=WAIT)
    elif path != "/login":
        expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    page.wait_for_timeout(800)  # tiles drawn


def shoot(page: Page, name: str, language: str, size: str) -> None:
    path = OUT / f"{name}-{language}-{size}.png"
    page.screenshot(path=str(path))
    print(path.relative_to(OUT.parent.parent))


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    if page.locator("#gg-logout").count():
        # the sign-out first drops the patrol page's offline copies, then submits: wait for it
        with page.expect_navigation():
            page.click("#gg-logout")
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def open_case(page: Page, base: str, public_id: str) -> None:
    """The dispatch console with one case's panel open (the link a notification carries)."""
    page.goto(f"{base}/map/dispatch?incident={public_id}")
    ready(page, "/map/dispatch")
    expect(page.locator("#gg-case")).to_have_attribute("data-state", "ready", timeout=WAIT)
    page.wait_for_timeout(800)


def shoot_language(browser: Browser, base: str, passwords: dict[str, str],
                   cases: dict[str, str], language: str, size: str) -> None:  # fmt: skip
    """Every page in one language at one size."""
    width, height = SIZES[size]
    # the browser's own locale too (date inputs, number spinners), as a user of that language has
    browser_locale = "zh-CN" if language == "zh_CN" else "en-US"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale=browser_locale,
        timezone_id="Asia/Shanghai",  # the clock of the city's users (case numbers use its dates)
        geolocation=DEMO_POSITION,  # an officer on patrol stands in the demo district
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{base}/lang/{language}?next=/login")
    shoot(page, "login", language, size)
    public = [("overview", "/"), ("report", "/report"), ("reports", "/reports")]
    if cases["closed"]:
        public.append(("report-status", f"/report/{cases['closed']}"))
    for name, path in public:
        page.goto(base + path)
        ready(page, path)
        shoot(page, name, language, size)
    sign_in(page, base, "demo-dispatcher", passwords["demo-dispatcher"])
    ready(page, "/map/dispatch")
    shoot(page, "dispatch", language, size)
    first = page.locator("#gg-list .gg-list-item").first
    if first.count():
        first.dispatch_event("click")
        expect(page.locator("#gg-case")).to_have_attribute("data-state", "ready", timeout=WAIT)
        page.wait_for_timeout(500)
        shoot(page, "dispatch-case", language, size)
    if cases["whistle"]:
        open_case(page, base, cases["whistle"])
        page.locator("#gg-case [data-whistle]").first.scroll_into_view_if_needed()
        shoot(page, "dispatch-whistle", language, size)
        page.goto(f"{base}/cases/{cases['whistle']}/print")
        ready(page, "/print")
        shoot(page, "case-print", language, size)
    page.goto(base + "/map/stats")
    ready(page, "/map/stats")
    shoot(page, "stats", language, size)
    for user, name in (("demo-officer", "officer"), ("demo-cgzf", "department")):
        sign_in(page, base, user, passwords[user])
        ready(page, "/map/dispatch")
        shoot(page, f"dispatch-{name}", language, size)
        if name == "officer":  # 大联勤: the officer's patrol page (docs/patrols.md)
            page.goto(base + "/patrol")
            ready(page, "/patrol")
            page.wait_for_timeout(1200)  # the grids and the base map behind the panel
            shoot(page, "patrol", language, size)
    sign_in(page, base, "demo-admin", passwords["demo-admin"])
    page.goto(base + "/map/edit")
    ready(page, "/map/edit")
    shoot(page, "edit", language, size)
    context.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:]  # e.g. `python -m tools.screenshots en` for one language
    with demo_server() as (base, passwords, cases), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for language in LANGUAGES:
            if only and language not in only:
                continue
            for size in SIZES:
                shoot_language(browser, base, passwords, cases, language, size)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
