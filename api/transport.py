"""What the machine-facing doors owe other clients: CORS, compression and HEAD.

Pure ASGI middleware, so the SSE stream and tile bytes pass untouched where they must.

- **CORS** (`GRIDGOV_CORS_ORIGINS`, none by default) only on the doors other web apps use:
  `/ogc`, `/tiles`, `/open311` (every method they have) and the public reads of `/api/v1`
  (GET/HEAD only). Never with credentials, and never on the cookie-authenticated pages, so a
  page on another origin cannot act with a signed-in user's session.
- **zstd or gzip** for JSON, GeoJSON, CSV and HTML bodies when the client asks
  (`Accept-Encoding`): zstd (RFC 8878) to the clients that take it — Chrome and Edge from 123,
  Firefox from 126, httpx with `zstandard` — as it compresses a 6.5 MB statistics table to the
  size gzip's level 6 reaches in an eighth of the time (7 against 55 ms, docs/performance.md);
  gzip to the others. Vector tiles are compressed once when rendered and kept so in the tile
  cache (api/services/interop/tiles.py), so this middleware leaves any response that already
  has a `Content-Encoding` alone (hotspot answers do the same:
  api/services/evaluation/hotspot_cache.py).
- **HEAD** on `/open311`, `/ogc` and `/tiles`: answered as GET without the body (RFC 9110 §9.3.2),
  which Open311 and OGC clients probe with.
- **OGC exceptions**: errors under `/ogc` in the form OGC API – Features prescribes.
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import zstandard
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware, IdentityResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi_rewrite import WholeResponseRewrite
from api.settings import HttpSettings

# Doors for other programs: every method they serve may be called from another origin.
CORS_OPEN_PREFIXES = ("/ogc", "/tiles", "/open311")
# Public reads of the JSON API (no token needed): GET and HEAD only.
CORS_READ_PATHS = (
    "/api/v1/locate",
    "/api/v1/areas",
    "/api/v1/buildings",
    "/api/v1/departments",
    "/api/v1/categories",
    "/api/v1/routing-rules",
    "/api/v1/catalogue",
)
HEAD_PREFIXES = ("/open311", "/ogc", "/tiles")
EXPOSED = [
    "ETag",
    "Link",
    "Retry-After",
    "Content-Crs",
    "X-Tile-Cache",
    "X-Tile-Truncated",
    "OGC-NumberMatched",
]


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _is_history(path: str) -> bool:
    """`/api/v1/areas/{code}/history` names editors for staff: not a public read."""
    return path.startswith("/api/v1/areas/") and path.endswith("/history")


class ScopedCORS:
    """CORS on the machine doors only; every other path is served as if CORS did not exist."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        common = {"allow_origins": origins, "allow_credentials": False, "max_age": 600}
        self.open = CORSMiddleware(
            app,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept", "Accept-Language"],
            expose_headers=EXPOSED,
            **common,  # type: ignore[arg-type]
        )
        self.reads = CORSMiddleware(
            app,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Accept", "Accept-Language"],
            expose_headers=EXPOSED,
            **common,  # type: ignore[arg-type]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if _under(path, CORS_OPEN_PREFIXES):
            await self.open(scope, receive, send)
        elif _under(path, CORS_READ_PATHS) and not _is_history(path):
            await self.reads(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class HeadAsGet:
    """Serve HEAD on the machine doors as GET with the body dropped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "HEAD"
            or not _under(scope["path"], HEAD_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # swallow the chunks; the last one ends the response
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)


def install(app: FastAPI, http: HttpSettings) -> None:
    """Add HEAD, gzip and CORS (outermost, so refusals such as 429 carry CORS headers too)."""
    app.add_middleware(OgcExceptions)
    app.add_middleware(HeadAsGet)
    if http.gzip_min_bytes > 0:
        app.add_middleware(Compression, http=http)
    origins = http.origins()
    if origins:
        app.add_middleware(ScopedCORS, origins=origins)


class OgcExceptions(WholeResponseRewrite):
    """Under /ogc, errors in the OGC exception form `{code, description}` (Features Part 1 §7.5).

    Errors are raised and given their status in one place (api/errors.py) as everywhere; this
    only rewrites the envelope of /ogc responses with a 4xx/5xx JSON body on the way out.
    """

    def applies(self, scope: Scope) -> bool:
        return _under(scope["path"], ("/ogc",))

    def hold(self, start: Message) -> bool:
        ctype = dict(start.get("headers", [])).get(b"content-type", b"")
        return bool(start["status"] >= 400 and ctype.startswith(b"application/json"))

    async def release(self, start: Message, body: bytes, send: Send) -> None:
        body = _ogc_exception(body)
        headers = [(k, v) for k, v in start.get("headers", []) if k not in (b"content-length",)]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _ogc_exception(body: bytes) -> bytes:
    """GridGov's `{"error": {code, message}}` as OGC's `{"code", "description"}`."""
    try:
        error = orjson.loads(body)["error"]
        return orjson.dumps({"code": error["code"], "description": error["message"]})
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body


def accepts(coding: str, accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` admits the content coding: its own entry if it has one
    (`zstd;q=0` refuses it), else `*`'s (RFC 9110 §12.5.3), else no."""
    weights: dict[str, bool] = {}
    for part in (accept_encoding or "").split(","):
        name, _, params = part.partition(";")
        q = params.strip()
        try:
            weights[name.strip().lower()] = not q.startswith("q=") or float(q[2:]) > 0
        except ValueError:
            weights[name.strip().lower()] = False
    return weights.get(coding, weights.get("*", False))


class Compression:
    """zstd to the clients that accept it, else gzip (Starlette's GZipMiddleware), for bodies of
    `GRIDGOV_GZIP_MIN_BYTES` or more; the same rules for both: a response that has its own
    `Content-Encoding`, a partial one (206) or an event stream passes as it is."""

    def __init__(self, app: ASGIApp, http: HttpSettings) -> None:
        self.app = app
        self.minimum_size = http.gzip_min_bytes
        self.zstd_level = http.zstd_level
        self.gzip = GZipMiddleware(
            app, minimum_size=http.gzip_min_bytes, compresslevel=http.gzip_level
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and accepts("zstd", Headers(scope=scope).get("accept-encoding")):
            await ZstdResponder(self.app, self.minimum_size, self.zstd_level)(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


class ZstdResponder(IdentityResponder):
    """Starlette's responder (headers, Vary, streaming) with zstd frames: a body sent in parts is
    flushed block by block, so an export streams as it is written."""

    content_encoding = "zstd"
    # larger bodies are compressed in a worker thread, not on the event loop (as gzip's are)
    THREAD_MIN_BYTES = 128 * 1024

    def __init__(self, app: ASGIApp, minimum_size: int, level: int) -> None:
        super().__init__(app, minimum_size)
        self.level = level
        self._stream: Any = None  # made for the first body compressed: most responses are small

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._stream is None:
            self._stream = zstandard.ZstdCompressor(level=self.level).compressobj()
        flush = (
            zstandard.COMPRESSOBJ_FLUSH_BLOCK if more_body else zstandard.COMPRESSOBJ_FLUSH_FINISH
        )
        return self._stream.compress(body) + self._stream.flush(flush)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= self.THREAD_MIN_BYTES:
            return await anyio.to_thread.run_sync(self._compress, body, more_body)
        return self._compress(body, more_body)
