"""Same-origin check for the cookie forms that a session token cannot protect: /login, /logout.

Login CSRF (a page on another site signing the victim into the attacker's account) happens
before there is a session, so the session's CSRF token cannot guard it. Browsers send `Origin`
on every POST (Fetch standard), and `Sec-Fetch-Site` too; a request whose origin is not this
host is refused. A request with neither header (nor a `Referer`) does not come from a browser
and so cannot be forged by another site's page; it is let through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from api.errors import Forbidden

# Chinese first (issue 17 moves these into the catalogue).
MESSAGES = {
    "cross_site": "此请求来自其他网站，已拒绝。请在本系统的登录页面操作。"
    " (This request came from another site; use GridGov's own page.)",
}
FOREIGN_FETCH_SITES = {"cross-site", "same-site"}


def _host_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower()


def is_same_origin(request: Request) -> bool:
    """Whether the request came from a page of this host (or from no browser at all)."""
    host = request.headers.get("host", "").lower()
    origin = request.headers.get("origin")
    if origin is not None:
        return _host_of(origin) == host  # "null" (sandboxed frames, data: pages) is foreign
    if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH_SITES:
        return False
    referer = request.headers.get("referer")
    if referer is not None:
        return _host_of(referer) == host
    return True


def require_same_origin(request: Request) -> None:
    """Dependency: 403 `forbidden` (reason `cross_site`) for a request from another site."""
    if not is_same_origin(request):
        raise Forbidden(MESSAGES["cross_site"], {"reason": "cross_site"})
