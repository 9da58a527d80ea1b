"""Page sign-in: password via the CLI, session cookie, CSRF on changes, logout, expiry."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from api.cli import app

PASSWORD = "correct horse battery"


def make_user(world_db: str, name: str = "disp", role: str = "dispatcher") -> None:
    env = {"GRIDGOV_DATABASE_URL": world_db}
    r = CliRunner().invoke(
        app, ["user", "add", name, "--role", role, "--area", "110199001"], env=env
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, ["user", "password", name, "--password-stdin"], env=env, input=PASSWORD + "\n"
    )
    assert r.exit_code == 0, r.output


def sign_in(client, name="disp", password=PASSWORD, next_url="/"):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"name": name, "password": password, "next": next_url},
        follow_redirects=False,
    )


def test_password_is_stored_as_argon2_and_short_ones_refused(world_db):
    make_user(world_db)
    with psycopg.connect(world_db) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE name = 'disp'").fetchone()
    assert stored is not None and stored[0].startswith("$argon2id$") and PASSWORD not in stored[0]
    r = CliRunner().invoke(
        app,
        ["user", "password", "disp", "--password-stdin"],
        env={"GRIDGOV_DATABASE_URL": world_db},
        input="short\n",
    )
    assert r.exit_code == 1 and "at least 10 characters" in r.output


def test_login_sets_a_safe_cookie_and_whoami_gives_the_csrf_token(world, world_db):
    make_user(world_db)
    assert world.get("/login").status_code == 200
    r = sign_in(world, next_url="/map/dispatch")
    assert r.status_code == 303 and r.headers["location"] == "/map/dispatch"
    cookie = r.headers["set-cookie"]
    assert "gridgov_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = world.get("/api/v1/session").json()
    assert me["user"] == {
        "name": "disp",
        "role": "dispatcher",
        "area": "110199001",
        "department": None,
    }
    assert len(me["csrf_token"]) > 20
    # the session works for reads
    assert world.get("/api/v1/incidents").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(world, world_db):
    make_user(world_db)
    bad = sign_in(world, password="wrong password!")
    nobody = sign_in(world, name="nobody")
    assert bad.status_code == nobody.status_code == 401
    # zh_CN by default (no Accept-Language), one language on the page
    assert "用户名或密码错误。" in bad.text and "用户名或密码错误。" in nobody.text
    assert "Wrong user name" not in bad.text
    assert "set-cookie" not in bad.headers


def test_open_redirect_is_refused(world, world_db):
    make_user(world_db)
    # not the other host: the role's home page, as from a plain /login
    home = sign_in(world).headers["location"]
    assert home.startswith("/map/")
    assert sign_in(world, next_url="https://evil.example/").headers["location"] == home
    assert sign_in(world, next_url="//evil.example/").headers["location"] == home


def test_changes_with_a_session_need_the_csrf_token(world, world_db):
    make_user(world_db)
    sign_in(world)
    csrf = world.get("/api/v1/session").json()["csrf_token"]
    body = {"category": "SJ0102", "location": {"lon": 116.01, "lat": 39.02}}
    forged = world.post("/api/v1/incidents", json=body)
    assert forged.status_code == 403 and forged.json()["error"]["details"] == {"reason": "csrf"}
    ok = world.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    with psycopg.connect(world_db) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (1,)


def test_logout_and_expiry_end_the_session(world, world_db):
    make_user(world_db)
    sign_in(world)
    assert world.get("/api/v1/session").status_code == 200
    world.post("/logout", follow_redirects=False)
    world.cookies.clear()
    assert world.get("/api/v1/session").status_code == 401
    sign_in(world)
    with psycopg.connect(world_db) as conn:
        conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert world.get("/api/v1/session").status_code == 401


def test_disabled_user_loses_the_session(world, world_db):
    make_user(world_db)
    sign_in(world)
    CliRunner().invoke(app, ["user", "disable", "disp"], env={"GRIDGOV_DATABASE_URL": world_db})
    assert world.get("/api/v1/session").status_code == 401


def test_parallel_requests_of_one_session_do_not_wait_for_each_other(world_db):
    """A page's parallel calls share a session: none waits for another's touch of the row."""
    from psycopg.rows import dict_row

    from api.services.identity.sessions import login, session_for_cookie

    make_user(world_db)
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        cookie, _ = login(conn, "disp", PASSWORD, 1.0)
        conn.execute("UPDATE sessions SET last_seen_at = now() - interval '1 hour'")

        def seen() -> object:
            return conn.execute("SELECT last_seen_at FROM sessions").fetchone()["last_seen_at"]

        before = seen()
        with (
            psycopg.connect(world_db, row_factory=dict_row) as first,
            psycopg.connect(world_db, row_factory=dict_row) as second,
        ):
            # the first request holds the touched row until its transaction ends
            one = session_for_cookie(first, cookie)
            assert one is not None and one.user.name == "disp"
            # the second one would have waited for it: refused after 200 ms if it waits at all
            second.execute("SET lock_timeout = '200ms'")
            two = session_for_cookie(second, cookie)
            assert two is not None and two.user.name == "disp" and two.csrf_token == one.csrf_token
            second.commit()
            assert seen() == before  # not yet: the first request's touch is not committed
            first.commit()
            touched = seen()
            assert touched > before  # type: ignore[operator]
            # alone, a request touches the row itself
            conn.execute("UPDATE sessions SET last_seen_at = now() - interval '1 hour'")
            assert session_for_cookie(second, cookie) is not None
            second.commit()
            assert seen() > before  # type: ignore[operator]
        # an expired session is still refused
        conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
        assert session_for_cookie(conn, cookie) is None
