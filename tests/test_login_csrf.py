"""Issue 15, hole 2: a page on another site can neither sign a victim in nor sign them out."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Route

from tests.test_pages import live_server, needs_chromium  # noqa: F401  (fixtures)
from tests.test_sessions import PASSWORD, make_user, sign_in

FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver.evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Referer": "https://evil.example/page"},
]


def sessions(world_db: str) -> int:
    with psycopg.connect(world_db) as conn:
        row = conn.execute("SELECT count(*) FROM sessions").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("headers", FOREIGN)
def test_login_from_another_site_is_refused(world: Any, world_db: str, headers: Any) -> None:
    make_user(world_db)
    r = world.post(
        "/login",
        data={"name": "disp", "password": PASSWORD, "next": "/"},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    assert r.json()["error"]["details"] == {"reason": "cross_site"}
    assert "set-cookie" not in r.headers
    assert sessions(world_db) == 0


def test_login_from_this_site_works(world: Any, world_db: str) -> None:
    make_user(world_db)
    for headers in (
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin", "Referer": "http://testserver/login"},
        {},  # no browser: nothing another site could forge
    ):
        r = world.post(
            "/login",
            data={"name": "disp", "password": PASSWORD},
            headers=headers,
            follow_redirects=False,
        )
        assert r.status_code == 303, (headers, r.text)
    assert sessions(world_db) == 3


@pytest.mark.parametrize("headers", FOREIGN)
def test_logout_from_another_site_is_refused(world: Any, world_db: str, headers: Any) -> None:
    make_user(world_db)
    sign_in(world)
    r = world.post("/logout", headers=headers, follow_redirects=False)
    assert r.status_code == 403 and r.json()["error"]["details"] == {"reason": "cross_site"}
    assert "set-cookie" not in r.headers
    assert world.get("/api/v1/session").status_code == 200 and sessions(world_db) == 1
    r = world.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303 and sessions(world_db) == 0


ATTACK = """<!DOCTYPE html><html><body>
<form id="f" method="post" action="{target}/login">
<input name="name" value="disp"><input name="password" value="{password}">
<input name="next" value="/report"></form>
<script>document.getElementById('f').submit();</script>
</body></html>"""


@pytest.mark.browser
@needs_chromium
def test_a_forged_login_form_on_another_site_signs_nobody_in(
    chromium: Browser,
    live_server: str,  # noqa: F811
    world_db: str,
) -> None:
    make_user(world_db)  # the attacker's own account
    context = chromium.new_context()
    page = context.new_page()
    html = ATTACK.format(target=live_server, password=PASSWORD)

    def evil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    page.route("http://evil.example/**", evil)
    try:
        with page.expect_response(f"{live_server}/login") as answer:
            page.goto("http://evil.example/")
        assert answer.value.status == 403
        assert [c for c in context.cookies() if c["name"] == "gridgov_session"] == []
        assert sessions(world_db) == 0
        # the same form on GridGov's own login page signs in
        page.goto(f"{live_server}/login")
        page.fill("input[name=name]", "disp")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/map/dispatch")  # a dispatcher's home page
        assert sessions(world_db) == 1
    finally:
        context.close()
