"""Issue 15, hole 4: live streams share one LISTEN connection per process, are capped per user,
and the connection budget is checked against max_connections at start-up."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.db.budget import LISTENERS, needed
from api.main import create_app
from tests.conftest import settings_for
from tests.test_stream import (  # noqa: F401  (serve is a fixture)
    TIMEOUT,
    Events,
    backends,
    serve,
    stream_connections,
    wait_until,
)

PSQL = shutil.which("psql")


def open_raw_stream(base: str, token: str) -> tuple[socket.socket, int]:
    """A stream opened over a bare socket (cheap enough for hundreds); its HTTP status."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(256)
        assert chunk, "the server closed the stream before answering"
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


def open_streams(base: str, token: str, n: int, sockets: list[socket.socket]) -> None:
    """Open `n` streams of one user over bare sockets (kept in `sockets`); each answers 200."""
    for _ in range(n):
        sock, status = open_raw_stream(base, token)
        sockets.append(sock)
        assert status == 200


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for s in opened:
            s.close()


def report(client: httpx.Client) -> str:
    r = client.post(
        "/api/v1/incidents",
        json={"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_300_streams_of_one_user_leave_psql_and_an_admins_stream_working(
    serve: Any,  # noqa: F811
    token_for: Any,
    world_db: str,
    sockets: list[socket.socket],
) -> None:
    base = serve(stream_per_user=1000)  # no per-user cap here: the budget itself must hold
    resident = token_for("res", "resident")["Authorization"]
    admin = token_for("root", "admin")
    open_streams(base, resident, 300, sockets)
    # 300 streams: one LISTEN connection, plus at most the request pool (pool_max 4 here)
    assert stream_connections(world_db) == 1
    assert backends(world_db, "true") <= 4 + LISTENERS  # every connection of the app
    if PSQL is not None:  # the operator's psql still gets in
        done = subprocess.run(
            [PSQL, world_db, "-At", "-c", "SELECT 1"], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
    with psycopg.connect(world_db) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with (
        httpx.Client(base_url=base, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/v1/stream", headers=admin) as admin_r,
    ):
        assert admin_r.status_code == 200
        new = report(client)
        ev = Events(admin_r).next()
        assert ev["event"] == "incident" and ev["data"]["incident"]["id"] == new


def test_a_user_past_the_stream_limit_gets_429(
    serve: Any,  # noqa: F811
    token_for: Any,
    sockets: list[socket.socket],
) -> None:
    base = serve(stream_per_user=3)
    resident = token_for("res", "resident")["Authorization"]
    admin = token_for("root", "admin")
    open_streams(base, resident, 3, sockets)
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        r = client.get("/api/v1/stream", headers={"Authorization": resident})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "too_many_streams"
        assert r.json()["error"]["details"] == {"limit": 3}
        with client.stream("GET", "/api/v1/stream", headers=admin) as other:
            assert other.status_code == 200  # another user is not affected
        sockets.pop().close()  # a closed stream gives its place back

        def place_free() -> bool:
            with client.stream(
                "GET", "/api/v1/stream", headers={"Authorization": resident}
            ) as again:
                return again.status_code == 200

        wait_until(place_free, "the closed stream did not give back its place")


def test_the_connection_budget_is_checked_at_start_up(world_db: str) -> None:
    settings = settings_for(world_db)
    settings.db.pool_max = 4
    settings.budget.workers = 3
    settings.budget.db_reserve_connections = 5
    assert needed(settings) == 3 * (4 + LISTENERS) + 5
    with TestClient(create_app(settings)) as client:  # fits the test cluster's 100
        assert client.get("/api/v1/categories").status_code == 200
    settings.budget.workers = 40  # 40 × 6 + 5 = 245 > 100 − 3
    with pytest.raises(RuntimeError) as refused, TestClient(create_app(settings)):
        pass
    message = str(refused.value)
    assert "= 245" in message and "max_connections 100" in message
    settings.budget.db_budget_check = False  # an operator who knows better may start anyway
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/categories").status_code == 200
