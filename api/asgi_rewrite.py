"""The shape of the ASGI middlewares that rewrite a whole response on its way out.

A response is a start message (status, headers) and body messages. Such a middleware holds the
start of the responses it picks, gathers their body and then sends its own start and body in
their place; every other response passes through as it streams (api/security_headers.py hashes
a page's scripts into its CSP, api/transport.py turns /ogc errors into OGC's form).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class WholeResponseRewrite:
    """Base class: `applies` picks the requests, `on_start` may change every response's start,
    `hold` picks (by that start) the responses to gather and `release` sends one rewritten."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def applies(self, scope: Scope) -> bool:
        return True

    def on_start(self, message: Message) -> Message:
        return message

    def hold(self, start: Message) -> bool:
        raise NotImplementedError

    async def release(self, start: Message, body: bytes, send: Send) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold_or_pass(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                message = self.on_start(message)
                if self.hold(message):
                    start = message  # held until the whole body is here
                else:
                    await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self.release(start, b"".join(chunks), send)

        await self.app(scope, receive, hold_or_pass)
