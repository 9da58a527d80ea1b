"""Request limits as pure ASGI middleware: body size (413) and per-address rate limits (429).

Pure ASGI (not BaseHTTPMiddleware) so streamed responses such as the SSE stream pass untouched.
Both answer with the usual error envelope, before any route or database work happens.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.responses import JSON
from api.security_headers import SecurityHeaders
from api.settings import LimitSettings, Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_TRACKED = 50_000  # buckets kept before full (idle) ones are forgotten


async def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive callable that hands out buffered messages first, then the real ones."""
    queue = list(messages)

    async def replayed() -> Message:
        return queue.pop(0) if queue else await receive()

    return replayed


def takes_photos(method: str, path: str) -> bool:
    """Routes whose multipart bodies carry photos (issue 16): they get the photo allowance."""
    if method != "POST":
        return False
    if path in ("/api/v1/incidents", "/open311/v2/requests.json", "/open311/v2/requests.xml"):
        return True
    return path.startswith("/api/v1/incidents/") and path.endswith("/photos")


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 `body_too_large` (`photo_bytes` for a
    multipart upload of photos; each photo is then held to its own limit by the route)."""

    def __init__(self, app: ASGIApp, max_bytes: int, photo_bytes: int = 0) -> None:
        self.app, self.max_bytes, self.photo_bytes = app, max_bytes, photo_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.max_bytes
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data") and (
            takes_photos(scope["method"], scope.get("path", ""))
        ):
            limit = max(limit, self.photo_bytes)
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): read up to the limit before the app sees anything.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        await self.app(scope, await _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        body = error_body(
            "body_too_large",
            f"The request body is larger than this server accepts ({limit} bytes).",
            {"max_bytes": limit},
        )
        await JSON(body, 413, headers={"Connection": "close"})(scope, receive, send)


@dataclass
class Bucket:
    """A token bucket: `tokens` left at `at` (monotonic seconds)."""

    tokens: float
    at: float


@dataclass
class RateRule:
    """`per_minute` requests per client address, with bursts of up to `burst`."""

    name: str
    per_minute: float
    burst: int
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def take(self, client: str, now: float) -> float:
        """Take one token; 0 when allowed, else the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0  # 0 switches the limit off
        rate = self.per_minute / 60.0
        b = self.buckets.get(client)
        if b is None:
            if len(self.buckets) >= MAX_TRACKED:
                self._forget_idle(now)
            b = self.buckets[client] = Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.at) * rate)
        b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / rate

    def _forget_idle(self, now: float) -> None:
        rate = self.per_minute / 60.0
        full = [k for k, b in self.buckets.items() if b.tokens + (now - b.at) * rate >= self.burst]
        for k in full:
            del self.buckets[k]
        if len(self.buckets) >= MAX_TRACKED:  # under attack from many addresses: start afresh
            self.buckets.clear()


def rule_for(method: str, path: str) -> str | None:
    """Which rate rule a request falls under (None: not limited)."""
    if method in ("GET", "HEAD") and path == "/api/v1/locate":
        return "locate"  # a new EPSG code costs ~10× a lookup: anonymous callers are limited
    if method != "POST":
        return None
    if path == "/api/v1/incidents" or path.startswith("/open311/v2/requests"):
        return "report"
    if path == "/login":
        return "login"
    # A contact check (tracking id + phone/e-mail) is guessed like a password: same budget.
    if path == "/api/v1/reports/lookup" or (
        path.startswith("/api/v1/reports/") and path.endswith("/rating")
    ):
        return "login"
    return None


def bearer_token(headers: dict[bytes, bytes]) -> bool:
    """Whether the request carries `Authorization: Bearer <something>`.

    Such a request is authenticated by the route (a wrong token: 401 before anything is
    written), so it may skip the per-address bucket; an empty or other header is anonymous to
    authentication (api.deps.optional_user) and so must be counted here too.
    """
    value = headers.get(b"authorization")
    if value is None:
        return False
    scheme, _, token = value.strip().partition(b" ")
    return scheme.lower() == b"bearer" and bool(token.strip())


class RateLimit:
    """Per client address token buckets on public reporting, login and locate: 429, Retry-After.

    Reports to the JSON API with a Bearer token (known users and integrations) are not limited
    here: the token is checked by the route. Open311 reports always are: their `api_key` names a
    client application that many residents share. The address is the TCP peer; behind a reverse
    proxy run uvicorn with --proxy-headers/--forwarded-allow-ips so it is the real client's.
    """

    def __init__(self, app: ASGIApp, limits: LimitSettings) -> None:
        self.app = app
        self.rules = {
            "report": RateRule("report", limits.report_per_minute, limits.report_burst),
            "login": RateRule("login", limits.login_per_minute, limits.login_burst),
            "locate": RateRule("locate", limits.locate_per_minute, limits.locate_burst),
        }
        self.clock = time.monotonic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = rule_for(scope.get("method", ""), scope.get("path", ""))
        if scope["type"] != "http" or name is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        # token holders skip the bucket where the route checks the token (401 when wrong)
        exempt = (name == "report" and path == "/api/v1/incidents") or name == "locate"
        if exempt and bearer_token(dict(scope["headers"])):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.rules[name].take(client, self.clock())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        what = {"report": "reports", "login": "sign-in attempts", "locate": "lookups"}[name]
        body = error_body(
            "rate_limited",
            f"Too many {what} from your address; try again in {retry} seconds.",
            {"retry_after": retry, "limit": name},
        )
        await JSON(body, 429, headers={"Retry-After": str(retry)})(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the limits and the page security headers (outermost: the body limit)."""
    app.add_middleware(SecurityHeaders, basemap_url=settings.map.basemap_url)
    app.add_middleware(RateLimit, limits=settings.limits)
    photos = settings.photos  # a full set of photos plus the form around them
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.limits.max_body_bytes,
        photo_bytes=photos.max_photos * photos.max_photo_bytes + settings.limits.max_body_bytes,
    )
