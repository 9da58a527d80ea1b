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

import psycopg
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server() -> Iterator[tuple[str, dict[str, str]]]:
    """The app serving the demo on a free port, and the demo users' passwords."""
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
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", passwords
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def ready(page: Page, path: str) -> None:
    """Wait until the page says it has loaded."""
    if path.startswith("/report") and path == "/report":
        expect(page.locator("#gg-report")).to_have_attribute("data-ready", "true", timeout=WAIT)
    elif path != "/login":
        expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT)
    page.wait_for_timeout(800)  # tiles drawn


def shoot(page: Page, name: str, language: str, size: str) -> None:
    path = OUT / f"{name}-{language}-{size}.png"
    page.screenshot(path=str(path))
    print(path.relative_to(OUT.parent.parent))


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with demo_server() as (base, passwords), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for language in LANGUAGES:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(f"{base}/lang/{language}?next=/login")
                shoot(page, "login", language, size)
                for name, path in (("overview", "/"), ("report", "/report")):
                    page.goto(base + path)
                    ready(page, path)
                    shoot(page, name, language, size)
                sign_in(page, base, "demo-dispatcher", passwords["demo-dispatcher"])
                ready(page, "/map/dispatch")
                shoot(page, "dispatch", language, size)
                first = page.locator("#gg-list .gg-list-item").first
                if first.count():
                    first.dispatch_event("click")
                    expect(page.locator("#gg-case")).to_have_attribute(
                        "data-state", "ready", timeout=WAIT
                    )
                    page.wait_for_timeout(500)
                    shoot(page, "dispatch-case", language, size)
                page.goto(base + "/map/stats")
                ready(page, "/map/stats")
                shoot(page, "stats", language, size)
                page.click("#gg-logout")
                sign_in(page, base, "demo-admin", passwords["demo-admin"])
                page.goto(base + "/map/edit")
                ready(page, "/map/edit")
                shoot(page, "edit", language, size)
                context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
