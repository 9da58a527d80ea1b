"""Security headers on every response, and a Content-Security-Policy on every HTML page.

Pages load only from this origin. folium writes its map setup as inline <script> blocks, so the
policy lists the SHA-256 hash of each inline script of the page being sent (computed here, per
response, in one place) instead of allowing 'unsafe-inline' scripts: an injected script — say a
name or description that slipped into the HTML unescaped — has no hash and does not run.
Styles keep 'unsafe-inline' (folium and Leaflet write style attributes; styles cannot run code).
That includes /docs (Swagger UI, served from /static by api/routers/docs.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Send

from api.asgi_rewrite import WholeResponseRewrite

# An inline script: a <script> element without a src attribute; group 1 is its exact text.
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def script_hashes(html: bytes) -> list[str]:
    """CSP sources ('sha256-…') for each distinct inline script of a page, in order."""
    seen: list[str] = []
    for m in INLINE_SCRIPT.finditer(html):
        digest = base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()
        source = f"'sha256-{digest}'"
        if source not in seen:
            seen.append(source)
    return seen


def tile_source(url: str) -> str | None:
    """The CSP source of a base map URL template (its origin; `{s}` subdomains → `*.`)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else ""
    return f"{parts.scheme}://{host}" if parts.scheme and host else None


def page_policy(html: bytes, basemap_url: str = "") -> str:
    """The Content-Security-Policy of one HTML page."""
    scripts = " ".join(["'self'", *script_hashes(html)])
    images = " ".join(s for s in ("'self'", "data:", "blob:", tile_source(basemap_url)) if s)
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders(WholeResponseRewrite):
    """Add nosniff/referrer/frame headers everywhere and a hashed CSP to HTML responses."""

    def __init__(self, app: ASGIApp, basemap_url: str = "") -> None:
        super().__init__(app)
        self.basemap_url = basemap_url

    def on_start(self, message: Message) -> Message:
        return {**message, "headers": [*message.get("headers", []), *ALWAYS]}

    def hold(self, start: Message) -> bool:
        # a page is held until it is all here, to hash its scripts
        return dict(start["headers"]).get(b"content-type", b"").startswith(b"text/html")

    async def release(self, start: Message, body: bytes, send: Send) -> None:
        policy = page_policy(body, self.basemap_url).encode()
        await send({**start, "headers": [*start["headers"], (b"content-security-policy", policy)]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
