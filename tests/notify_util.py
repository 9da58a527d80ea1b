"""Real receivers for notification tests: an SMTP server (aiosmtpd) and a webhook endpoint."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.conftest import settings_for
from tests.loop import Clock

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Shanghai


def notify_settings(url: str) -> Settings:
    """Test settings: no worker thread (tests run its rounds), SMTP on a port nobody serves."""
    s = settings_for(url)
    s.notify.notify_worker = False
    s.notify.smtp_url = f"smtp://127.0.0.1:{free_port()}"
    s.notify.public_url = "https://gov.example"
    return s


def notify_client(settings: Settings) -> Iterator[TestClient]:
    """An app on those settings with its clock fixed at T0."""
    with TestClient(create_app(settings)) as c:
        c.app.state.clock = Clock(T0)  # type: ignore[attr-defined]
        yield c


@pytest.fixture(name="settings")
def settings_fixture(world_db: str) -> Settings:
    """`settings`: notify_settings on the world database (import it into a test module)."""
    return notify_settings(world_db)


@pytest.fixture(name="client")
def client_fixture(settings: Settings) -> Iterator[TestClient]:
    """`client`: notify_client on `settings`."""
    yield from notify_client(settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SmtpServer:
    """An SMTP server on a fixed port, started and stopped by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class WebhookReceiver:
    """An HTTP server on a fixed port recording each POST (headers, body)."""

    def __init__(self, port: int, status: int = 200) -> None:
        self.port = port
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"
