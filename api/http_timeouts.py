"""A request-header timeout for uvicorn: a connection must finish its request headers in time.

uvicorn (0.55) times out idle keep-alive connections but not a request whose headers never end:
300 half-sent requests stayed open indefinitely (issue 15). This h11 protocol arms a timer when
a connection opens (and again when it waits for the next request's headers) and closes the
connection if the headers are not complete when it fires. Data arriving slowly does not reset
it, so a client dripping one header byte at a time (slowloris) is closed too. `gridgov serve`
uses it; behind a reverse proxy, the proxy's own header timeout (nginx client_header_timeout)
does the same job.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import LimitSettings


@lru_cache(maxsize=1)
def configured_timeout() -> float:
    """GRIDGOV_HEADER_TIMEOUT, read once per worker process (each imports this module)."""
    return LimitSettings().header_timeout


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout: float | None = None  # None: the setting (GRIDGOV_HEADER_TIMEOUT)
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once a request's headers are in; restart it for the next request."""
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # still waiting for headers: the clock keeps running
        else:
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        """The next request on this connection gets its own deadline once it starts."""
        super().on_response_complete()
        self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer with the connection."""
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            seconds = self.header_timeout or configured_timeout()
            self._header_timer = self.loop.call_later(seconds, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class with `seconds` as its header deadline (uvicorn's `http=` option; for
    one process only: worker processes import HeaderTimeoutH11Protocol by name)."""
    return type("HeaderTimeoutH11", (HeaderTimeoutH11Protocol,), {"header_timeout": seconds})
