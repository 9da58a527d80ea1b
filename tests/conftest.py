"""Test fixtures: one throwaway PostGIS cluster per run, a fresh database per test.

The cluster is started through the same code as `gridgov db up` (own data dir, own port,
fsync off) and removed at the end. Migrations run once into template databases; each test gets
`CREATE DATABASE … TEMPLATE …`, so tests are isolated without mocking anything.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, LiteralString

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.rows import dict_row

from api.db.embedded import EmbeddedCluster
from api.db.migrate import upgrade
from api.main import create_app
from api.settings import DatabaseSettings, Settings
from tests.patrol_util import SCREENS, Screen
from tests.world import load_world

_counter = itertools.count()
# The command line speaks the terminal's language (api/cli_common.py:cli_translator); the tests
# read its English unless a test asks for Chinese (tests/test_cli_i18n.py). Not LANGUAGE or LANG:
# Chromium would take those for the pages' language too.
os.environ["GRIDGOV_CLI_LOCALE"] = "en"
# no trend warmer in the apps of the tests (its own test runs its turns: test_stats_kept.py)
os.environ["GRIDGOV_TREND_WARM_S"] = "0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Databases:
    """Creates databases from templates on the test cluster."""

    def __init__(self, cluster: EmbeddedCluster) -> None:
        self.cluster = cluster
        self.base = cluster.url().rsplit("/", 1)[0]
        self.templates: set[str] = set()

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if template:
                stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            else:
                stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            conn.execute(stmt)
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def template(self, name: str, build: Any = None) -> str:
        """A migrated template database, built once per run (then `build(conn)` loads data)."""
        if name not in self.templates:
            url = self.create(name)
            upgrade(url)
            if build is not None:
                with psycopg.connect(url, row_factory=dict_row) as conn:
                    build(conn, url)
            self.templates.add(name)
        return name


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    home = Path(tempfile.mkdtemp(prefix="gridgov-test-"))
    home.chmod(0o755)  # as root the cluster runs as 'postgres', which must reach this directory
    cluster = EmbeddedCluster(home=home, port=_free_port(), dbname="postgres", durable=False)
    cluster.up()
    try:
        yield Databases(cluster)
    finally:
        cluster.destroy()


def _fresh(databases: Databases, template: str) -> Iterator[str]:
    name = f"t_{os.getpid()}_{next(_counter)}"
    url = databases.create(name, template)
    try:
        yield url
    finally:
        databases.drop(name)


@pytest.fixture
def empty_db(databases: Databases) -> Iterator[str]:
    """URL of a migrated, empty database."""
    yield from _fresh(databases, databases.template("tpl_empty"))


@pytest.fixture
def world_db(databases: Databases) -> Iterator[str]:
    """URL of a database holding the synthetic world of tests/world.py."""
    tpl = databases.template("tpl_world", lambda conn, _url: load_world(conn))
    yield from _fresh(databases, tpl)


def settings_for(url: str, **api: Any) -> Settings:
    """Settings pointing at a test database."""
    s = Settings(db=DatabaseSettings(database_url=url, pool_min=1, pool_max=4))
    for key, value in api.items():
        setattr(s.api, key, value)
    return s


def one_row(url: str, query: LiteralString) -> tuple[Any, ...]:
    """The one row `query` answers, read on a short connection of its own."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None, query
    return tuple(row)


def wait_until_healthy(
    proc: subprocess.Popen[Any], root: str, seconds: float, exited: Callable[[], str]
) -> None:
    """Poll `root`/healthz until it answers 200; fail with `exited()` if the server process
    ends first, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, exited()
        try:
            if httpx.get(f"{root}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


@pytest.fixture
def world(world_db: str) -> Iterator[TestClient]:
    """An HTTP client on an app serving the synthetic world."""
    with TestClient(create_app(settings_for(world_db))) as client:
        yield client


@pytest.fixture
def english(world: TestClient) -> Iterator[None]:
    """`world` asks for English (Accept-Language: en), as a client may; the default is zh_CN
    (test_open311.py::test_descriptions_in_the_asked_language). Modules take it with
    `pytestmark = pytest.mark.usefixtures("english")`."""
    world.headers["Accept-Language"] = "en"
    yield
    world.headers.pop("Accept-Language", None)


@pytest.fixture
def db(world_db: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to the world database (dict rows)."""
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def token_for(world_db: str) -> Any:
    """`token_for(name, role, area=None, department=None)`: a new user's Authorization header."""
    from api.services.identity.auth import add_user, create_token

    def make(
        name: str, role: str, area: str | None = None, department: str | None = None
    ) -> dict[str, str]:
        with psycopg.connect(world_db, row_factory=dict_row) as conn:
            add_user(conn, name, role, area, department)
            token = create_token(conn, name)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def admin(token_for: Any) -> dict[str, str]:
    """The Authorization header of a new admin, "boss"."""
    return dict(token_for("boss", "admin"))


@pytest.fixture
def cast(token_for: Any) -> Any:
    """The loop's people (tests/loop.py `Cast`): resident, officer, dispatchers, departments."""
    from tests.loop import make_cast

    return make_cast(token_for)


@pytest.fixture
def clock(world: TestClient, request: pytest.FixtureRequest) -> Any:
    """A settable clock the app reads instead of now(), starting at the test module's `T0`."""
    from tests.loop import Clock

    c = Clock(request.module.T0)
    world.app.state.clock = c  # type: ignore[attr-defined]
    return c


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """System Chromium, headless (bench/common.py's path and flags), one per test module."""
    from playwright.sync_api import sync_playwright

    from bench.common import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browsers(chromium: Any) -> Iterator[Any]:
    """`browsers(**context_options)`: a new browser context (own cookies) that can only reach
    127.0.0.1 (tests/test_pages.py `Offline`); non-local requests are blocked and recorded."""
    from tests.test_pages import Offline

    made: list[Any] = []

    def new(**options: Any) -> Offline:
        options.setdefault("viewport", {"width": 1400, "height": 900})
        context = chromium.new_context(**options)
        state = Offline(context.new_page())
        state.page.on("console", state.console)
        state.page.on("pageerror", lambda e: state.problems.append(f"page error: {e}"))
        state.page.route("**/*", state.route)
        made.append(context)
        return state

    try:
        yield new
    finally:
        for context in made:
            context.close()


SIZES = [(390, 844), (1366, 768)]  # a phone and a laptop


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def screen(request: pytest.FixtureRequest, browsers: Any) -> Any:
    """The test runs on a phone's and on a laptop's screen (tests/pages_workflow_util.py `Screen`):
    `screen.open(**options)`, `screen.console(base, user)`, `screen.width`, `screen.height`."""
    from tests.pages_workflow_util import Screen

    width, height = request.param
    return Screen(browsers, width, height)


@pytest.fixture
def live(world_db: str) -> Iterator[str]:
    """The app serving the world on a free local port (uvicorn in a thread), for the browser."""
    from tests.test_pages import serve

    yield from serve(settings_for(world_db))


@pytest.fixture(params=SCREENS, ids=["phone", "desk"])
def patrol_screen(request: pytest.FixtureRequest) -> Screen:
    """The patrol page's screens and languages (tests/patrol_util.py SCREENS), a run each."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def walker(
    browsers: Any, live: str, world_db: str, patrol_screen: Screen
) -> Callable[..., tuple[Any, Any, Any]]:
    """`walker(**context_options)`: grid officer "walker" (G1) signed in on /patrol in a new
    context on `patrol_screen`, standing in G1 with geolocation allowed, the page ready; the
    context (`browsers`), the page's #gg-patrol and a Translator for the screen's language."""
    from playwright.sync_api import expect

    from tests.loop import G1
    from tests.pages_workflow_util import PASSWORD, WAIT, make_user
    from web_map.i18n import Translator

    def open_patrol(**options: Any) -> tuple[Any, Any, Any]:
        make_user(world_db, "walker", "officer", G1)
        b = browsers(
            viewport={"width": patrol_screen.size[0], "height": patrol_screen.size[1]},
            geolocation={"latitude": 39.010, "longitude": 116.010, "accuracy": 8},
            permissions=["geolocation"],
            **options,
        )
        b.page.goto(f"{live}/lang/{patrol_screen.lang}?next=/login%3Fnext%3D/patrol")
        b.page.fill("input[name=name]", "walker")
        b.page.fill("input[name=password]", PASSWORD)
        b.page.click("button[type=submit]")
        root = b.page.locator("#gg-patrol")
        expect(root).to_have_attribute("data-ready", "true", timeout=WAIT)
        return b, root, Translator(patrol_screen.lang)

    return open_patrol


def wait_until(condition: Any, message: str, seconds: float = 10.0) -> None:
    """Poll (up to 10 s, or `seconds`) for something that happens asynchronously; fail with `message`."""
    pause = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        pause.wait(0.02)
    pytest.fail(message)


def runs_on_after_a_fault(thread: Any, calls: list[int], logger: str, caplog: Any) -> str:
    """Start a background thread (api.services.background) whose first call fails, wait for two
    calls more, stop it; the errors it logged."""
    with caplog.at_level(logging.ERROR, logger=logger):
        thread.start()
        wait_until(lambda: len(calls) >= 3, f"{thread.thread_name} ended after a fault", 15)
        thread.stop()
    return str(caplog.text)
