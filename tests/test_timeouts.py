"""No runaway query: GRIDGOV_STATEMENT_TIMEOUT_MS through HTTP, Open311 and the CLI.

A request is made genuinely slow by a lock: another connection holds ACCESS EXCLUSIVE on
`incidents`, so the request's query waits inside PostgreSQL until its statement timeout cancels
it. The pool has one connection, so every next request proves that the connection came back in
a good state (no aborted transaction, no lingering lock wait, the default timeout again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from api.settings import DatabaseSettings, Settings

TIMEOUT_MS = 300


@contextmanager
def incidents_locked(url: str, release_after: float | None = None) -> Iterator[None]:
    """Hold ACCESS EXCLUSIVE on incidents (optionally only for `release_after` seconds)."""
    conn = psycopg.connect(url)
    conn.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
    timer = None
    if release_after is not None:
        timer = threading.Timer(release_after, conn.rollback)
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        conn.rollback()
        conn.close()


@contextmanager
def one_connection_app(world_db: str, **limits: int) -> Iterator[TestClient]:
    """The app with one pooled connection, 3 s for exports and background work, and `limits`
    (DatabaseSettings' timeouts)."""
    db = DatabaseSettings(
        database_url=world_db,
        pool_min=1,
        pool_max=1,
        pool_timeout=2.0,
        long_statement_timeout_ms=3000,
        **limits,
    )
    with TestClient(create_app(Settings(db=db))) as client:
        yield client


@pytest.fixture
def slow_app(world_db: str) -> Iterator[TestClient]:
    """One pooled connection, a 300 ms statement timeout, 3 s for exports."""
    with one_connection_app(world_db, statement_timeout_ms=TIMEOUT_MS) as client:
        yield client


def assert_query_timeout(r: Any, timeout_ms: int) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "30"
    err = r.json()["error"]
    assert err["code"] == "query_timeout"
    assert err["details"] == {"timeout_ms": timeout_ms}
    assert "查询超时" in err["message"] and f"{timeout_ms / 1000:g} 秒" in err["message"]


def test_a_slow_request_is_cut_at_the_timeout_and_the_pool_serves_the_next(
    slow_app, world_db, token_for
):
    admin = token_for("boss", "admin")
    assert slow_app.get("/api/v1/stats", headers=admin).status_code == 200
    with incidents_locked(world_db):
        started = time.monotonic()
        r = slow_app.get("/api/v1/stats", headers=admin)
        took = time.monotonic() - started
        assert_query_timeout(r, TIMEOUT_MS)
        assert took < 2.0  # cut at ~0.3 s, not left waiting for the lock
        # the only pooled connection is back and usable while the lock is still held elsewhere
        health = slow_app.get("/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert_query_timeout(slow_app.get("/api/v1/incidents", headers=admin), TIMEOUT_MS)
    # lock gone: the same connection answers the same requests
    assert slow_app.get("/api/v1/stats", headers=admin).status_code == 200
    listed = slow_app.get("/api/v1/incidents", headers=admin)
    assert listed.status_code == 200 and listed.json()["type"] == "FeatureCollection"
    with psycopg.connect(world_db) as conn:  # nothing left waiting or idle in a transaction
        rows = conn.execute(
            "SELECT state, wait_event_type FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'gridgov'"
        ).fetchall()
    assert rows and all(state == "idle" for state, _ in rows), rows


def test_a_timed_out_write_changes_nothing(slow_app, world_db):
    with psycopg.connect(world_db) as conn:
        before = conn.execute("SELECT count(*) FROM incidents").fetchone()
    body = {
        "category": "SJ0102",
        "description": "井盖缺失",
        "location": {"lon": 116.01, "lat": 39.02},
    }
    with incidents_locked(world_db):
        assert_query_timeout(slow_app.post("/api/v1/incidents", json=body), TIMEOUT_MS)
    with psycopg.connect(world_db) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone() == before
    assert slow_app.post("/api/v1/incidents", json=body).status_code == 201


def test_an_export_gets_the_long_timeout_for_its_own_request_only(slow_app, world_db, token_for):
    admin = token_for("boss", "admin")
    csv_params = {"format": "csv", "group_by": "department"}
    # the lock goes after 1 s: past the request timeout, within the export one (3 s)
    with incidents_locked(world_db, release_after=1.0):
        r = slow_app.get("/api/v1/stats", params=csv_params, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    # SET LOCAL ended with the export's transaction: the pooled connection is back at 300 ms
    with incidents_locked(world_db):
        assert_query_timeout(slow_app.get("/api/v1/stats", headers=admin), TIMEOUT_MS)
        # and an export that waits longer than its own timeout is cut too, saying so
        started = time.monotonic()
        r = slow_app.get("/api/v1/stats", params=csv_params, headers=admin)
        assert time.monotonic() - started >= 2.9
        assert_query_timeout(r, 3000)


def test_open311_answers_a_timeout_in_its_own_error_form(slow_app, world_db):
    with incidents_locked(world_db):
        r = slow_app.get("/open311/v2/requests.json")
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    [error] = r.json()
    assert error["code"] == 503 and "查询超时" in error["description"]
    assert slow_app.get("/open311/v2/requests.json").status_code == 200


def test_the_cli_has_its_own_longer_timeout_and_says_what_happened(world_db):
    env = {"GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_STATEMENT_TIMEOUT_MS": "1"}
    env["GRIDGOV_CLI_LOCALE"] = "zh_CN"  # the terminal in Chinese
    # the request timeout does not apply to the CLI: it waits out a 1 s lock and succeeds
    with incidents_locked(world_db, release_after=1.0):
        ok = CliRunner().invoke(cli, ["stats", "--group-by", "department"], env=env)
    assert ok.exit_code == 0, ok.output
    env["GRIDGOV_LONG_STATEMENT_TIMEOUT_MS"] = "300"
    with incidents_locked(world_db):
        cut = CliRunner().invoke(cli, ["stats", "--group-by", "department"], env=env)
    assert cut.exit_code == 1
    assert "查询超时" in cut.output and "GRIDGOV_LONG_STATEMENT_TIMEOUT_MS" in cut.output


IDLE_MS = 300


@pytest.fixture
def idle_app(world_db: str) -> Iterator[TestClient]:
    """One pooled connection that may sit idle in a transaction for 300 ms, 3 s for exports and
    background work."""
    with one_connection_app(world_db, idle_in_transaction_ms=IDLE_MS) as client:
        yield client


def _idle_timeout(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_setting('idle_in_transaction_session_timeout')").fetchone()
    assert row is not None  # (the pool's connections give dict rows)
    return str(row["current_setting"])


def test_a_transaction_left_idle_is_ended_its_lock_freed_and_the_pool_serves_the_next(
    idle_app, world_db, token_for
):
    admin = token_for("boss", "admin")
    pool = idle_app.app.state.pool
    # a pooled connection stuck between two statements with a transaction open and a lock held
    with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
        with pool.connection() as stuck:
            assert _idle_timeout(stuck) == f"{IDLE_MS}ms"
            stuck.execute("LOCK TABLE incidents IN ACCESS SHARE MODE")
            with psycopg.connect(world_db) as other:
                # the lock is real: a writer that needs the table waits for it
                other.execute("SET lock_timeout = '100ms'")
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
                other.rollback()
                # until PostgreSQL ends the idle session: then it gets it at once
                time.sleep(IDLE_MS / 1000 + 0.5)
                other.execute("SET lock_timeout = '100ms'")
                other.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
                other.rollback()
            stuck.execute("SELECT 1")  # the session is gone, and says why
    # the pool dropped the dead connection and serves the next request with a new one
    assert idle_app.get("/api/v1/stats", headers=admin).status_code == 200


def test_exports_and_background_work_may_sit_idle_longer(idle_app, world_db, token_for):
    from api.services.background import long_statements

    app = idle_app.app
    with long_statements(app.state.pool, app.state.settings) as conn:
        conn.execute("SELECT 1")
        assert _idle_timeout(conn) == "3s"
        time.sleep(IDLE_MS / 1000 + 0.3)  # past the interactive limit: still alive
        conn.execute("SELECT 1")
    with app.state.pool.connection() as conn:  # back with the pool's own
        assert _idle_timeout(conn) == f"{IDLE_MS}ms"
    admin = token_for("boss", "admin")
    r = idle_app.get("/api/v1/stats", params={"format": "csv"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
