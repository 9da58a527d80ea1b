"""Issue 15, item 6: half-sent requests are closed after the header timeout, not kept forever."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import uvicorn

from api.http_timeouts import header_timeout_protocol
from api.main import create_app
from tests.conftest import settings_for
from tests.test_pages import free_port, in_thread

TIMEOUT_S = 1.0


@pytest.fixture
def server(world_db: str) -> Iterator[tuple[str, int]]:
    """The app under uvicorn with the header-timeout protocol (1 s)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings_for(world_db)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=header_timeout_protocol(TIMEOUT_S),
    )
    with in_thread(config):
        yield "127.0.0.1", port


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closes the connection within `wait` seconds (EOF or reset)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_300_half_sent_requests_are_closed(server: tuple[str, int]) -> None:
    socks = []
    try:
        for _ in range(300):
            s = socket.create_connection(server, timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
            socks.append(s)
        start = time.monotonic()
        assert all(closed_by_server(s, 10 * TIMEOUT_S + 5) for s in socks)
        assert time.monotonic() - start < 10 * TIMEOUT_S + 5
        # a complete request is served as before
        with socket.create_connection(server, timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 ")
    finally:
        for s in socks:
            s.close()


def test_a_slow_drip_of_header_bytes_is_closed_too(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as s:
        start = time.monotonic()
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                s.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(s, 0.2):
                closed = True
                break
        assert closed and time.monotonic() - start < 3 * TIMEOUT_S + 2
