"""FastAPI dependencies as Annotated aliases: settings, a pooled connection, the current user."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from psycopg import Connection

from api.dates import check_year
from api.db.models import STATUSES
from api.db.session import use_long_timeouts
from api.errors import BadRequest, Forbidden, Unauthorized
from api.services.identity.auth import User, user_for_token
from api.services.identity.sessions import session_for_cookie
from api.settings import AREA_PAGE_MAX, Settings
from gis.crs import check_transformable, normalize_crs
from gis.features import IncidentFilter


# async (no I/O): FastAPI runs a plain `def` dependency in a worker thread, a hop of ~50 µs of
# CPU per request; these two are on every report (docs/performance.md, 2026-11-26).
async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_conn(request: Request) -> Iterator[Connection[Any]]:
    """A connection from the pool for one request; committed on success, rolled back on error."""
    with request.app.state.pool.connection() as conn:
        yield conn


def get_read_conn(request: Request) -> Iterator[Connection[Any]]:
    """A connection for reads that tolerate a second of lag (tiles, OGC, stats, exports): the
    streaming replica's when one is configured and keeping up, else the primary's
    (api/db/read_pool.py). Writes and reads of one's own writes take ConnDep."""
    with request.app.state.read_pool.connection() as (conn, on_replica):
        request.state.read_on_replica = on_replica
        if not on_replica:
            request.state.primary_conn = conn  # the user check reuses it: one checkout, not two
        yield conn


def allow_long_statements(request: Request, conn: Connection[Any]) -> None:
    """Exports: the rest of this request's transaction runs under
    GRIDGOV_LONG_STATEMENT_TIMEOUT_MS instead of GRIDGOV_STATEMENT_TIMEOUT_MS, and may sit idle
    between its statements as long (GRIDGOV_IDLE_IN_TRANSACTION_MS is for interactive work)."""
    timeout_ms = request.app.state.settings.db.long_statement_timeout_ms
    # local: ends with the transaction, so the pooled connection goes back with the default
    use_long_timeouts(conn, timeout_ms, local=True)
    request.state.statement_timeout_ms = timeout_ms


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the transaction commits (or rolls back) before the response is sent, so a
# client never sees 201 for a write that then fails to commit.
ConnDep = Annotated[Connection[Any], Depends(get_conn, scope="function")]
ReadConnDep = Annotated[Connection[Any], Depends(get_read_conn, scope="function")]


SESSION_COOKIE = "gridgov_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def optional_user(
    request: Request, conn: ConnDep, authorization: Annotated[str | None, Header()] = None
) -> User | None:
    """The caller behind a Bearer token or a page session; None when anonymous.

    A bad token is refused. A session cookie on a state-changing request must come with the
    session's CSRF token in the X-CSRF-Token header (pages send it; other sites cannot read it).
    """
    if not authorization:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        session = session_for_cookie(conn, cookie)
        if session is None:
            return None
        if request.method not in SAFE_METHODS and not secrets.compare_digest(
            request.headers.get(CSRF_HEADER, ""), session.csrf_token
        ):
            raise Forbidden(
                "This request did not come from a GridGov page (missing or wrong CSRF token); "
                "reload the page and try again.",
                {"reason": "csrf"},
            )
        return session.user
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    user = user_for_token(conn, token.strip())
    if user is None:
        raise Unauthorized("This token is unknown, revoked or expired.")
    return user


async def request_user(
    request: Request, conn: ConnDep, authorization: Annotated[str | None, Header()] = None
) -> User | None:
    """`optional_user` as a dependency: an anonymous request (no token, no session cookie) is
    answered here, without the worker thread a plain `def` dependency costs."""
    if not authorization and not request.cookies.get(SESSION_COOKIE):
        return None
    return await run_in_threadpool(optional_user, request, conn, authorization)


def _signed_in(user: User | None) -> User:
    """The caller; refuses anonymous requests."""
    if user is None:
        raise Unauthorized("This needs a token: send 'Authorization: Bearer <token>'.")
    return user


async def current_user(user: Annotated[User | None, Depends(request_user)]) -> User:
    """The caller; refuses anonymous requests."""
    return _signed_in(user)


OptionalUser = Annotated[User | None, Depends(request_user)]
CurrentUser = Annotated[User, Depends(current_user)]


def user_on_primary(request: Request, authorization: str | None) -> User | None:
    """`optional_user` for routes on ReadConnDep: always on the primary (a session is touched on
    every request, and a token revoked a moment ago must already count) — on the request's read
    connection when that is the primary's, else on a short checkout of its own."""
    conn = getattr(request.state, "primary_conn", None)
    if conn is not None:
        return optional_user(request, conn, authorization)
    with request.app.state.pool.connection() as primary:
        return optional_user(request, primary, authorization)


async def read_request_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> User | None:
    """`request_user` for routes on ReadConnDep (no primary connection held for anonymous
    callers, nor for the whole request)."""
    if not authorization and not request.cookies.get(SESSION_COOKIE):
        return None
    return await run_in_threadpool(user_on_primary, request, authorization)


async def read_current_user(user: Annotated[User | None, Depends(read_request_user)]) -> User:
    """`current_user` for routes on ReadConnDep."""
    return _signed_in(user)


ReadOptionalUser = Annotated[User | None, Depends(read_request_user)]
ReadCurrentUser = Annotated[User, Depends(read_current_user)]


def bbox_param(
    bbox: Annotated[
        str | None,
        Query(
            description="minLon,minLat,maxLon,maxLat (EPSG:4326)",
            examples=["116.3,39.9,116.4,40.1"],
        ),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """Parse and check a bbox query parameter."""
    if bbox is None:
        return None
    try:
        parts = tuple(float(p) for p in bbox.split(","))
    except ValueError as exc:
        raise BadRequest("bbox must be four numbers: minLon,minLat,maxLon,maxLat.") from exc
    if len(parts) != 4 or any(p != p or p in (float("inf"), float("-inf")) for p in parts):
        raise BadRequest("bbox must be four finite numbers: minLon,minLat,maxLon,maxLat.")
    x0, y0, x1, y1 = parts
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise BadRequest("bbox must be minLon,minLat,maxLon,maxLat within -180..180 and -90..90.")
    return x0, y0, x1, y1


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_param)]


def cursor_param(
    cursor: Annotated[
        str | None, Query(max_length=20, description="next_cursor of the previous page")
    ] = None,
) -> int | None:
    """Parse a keyset cursor."""
    if cursor is None:
        return None
    # isascii: "²" and "１" pass isdigit() (and int() takes "１"); a cursor is ASCII digits
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise BadRequest("cursor must be the next_cursor value of the previous page.")
    return int(cursor)


LimitQ = Annotated[int | None, Query(ge=1, description="page size")]


def _page(settings: Settings, limit: int | None, most: int) -> int:
    page = limit or settings.api.default_page_size
    if page > most:
        raise BadRequest(f"limit must be at most {most}.")
    return page


def page_size(settings: SettingsDep, limit: LimitQ = None) -> int:
    """The page size asked for, within the configured maximum."""
    return _page(settings, limit, settings.api.max_page_size)


def area_page_size(settings: SettingsDep, limit: LimitQ = None) -> int:
    """The page size of an area list: up to AREA_PAGE_MAX whatever the configured maximum (a
    map draws a level's areas at once)."""
    return _page(settings, limit, max(settings.api.max_page_size, AREA_PAGE_MAX))


CursorDep = Annotated[int | None, Depends(cursor_param)]
# A row's bigint id in the path (a photo, a patrol, a whistle): 422 outside 1 … 2^63 - 1.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PageSizeDep = Annotated[int, Depends(page_size)]
AreaPageSizeDep = Annotated[int, Depends(area_page_size)]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def get_clock(request: Request) -> Callable[[], dt.datetime]:
    """The app's clock: `app.state.clock` when set (tests fix time with it), else UTC now."""
    clock: Callable[[], dt.datetime] = getattr(request.app.state, "clock", _utc_now)
    return clock


ClockDep = Annotated[Callable[[], dt.datetime], Depends(get_clock)]


@dataclass(frozen=True)
class Acting:
    """A signed-in caller changing something: the connection, who acts, and the app's clock."""

    conn: Connection[Any]
    user: User
    clock: Callable[[], dt.datetime]


async def acting(conn: ConnDep, user: CurrentUser, clock: ClockDep) -> Acting:
    """The action's context (async: it only gathers what the other dependencies gave)."""
    return Acting(conn, user, clock)


ActingDep = Annotated[Acting, Depends(acting)]


def output_crs(
    crs: Annotated[
        str | None,
        Query(
            description="coordinate system of the returned geometry: EPSG:4326 (default) or any "
            "EPSG code, e.g. EPSG:4490 or a Gauss-Krüger zone such as EPSG:4547",
            examples=["EPSG:4547"],
        ),
    ] = None,
) -> int:
    """The EPSG code to return geometry in; GCJ-02/BD-09 output is refused (400)."""
    name = normalize_crs(crs)  # unknown names: UnknownCRS (422 unknown_crs), as for input
    check_transformable(name)  # no transformation from WGS 84: 422 unsupported_crs
    if not name.startswith("EPSG:"):
        raise BadRequest(
            f"GeoJSON is not served in {name}: it is an obfuscated, not an EPSG, system that "
            "PostGIS cannot convert to. Ask for EPSG:4326 and convert in the map app "
            "(e.g. AMap.convertFrom), or use crs=EPSG:n.",
            {"crs": name},
        )
    return int(name.removeprefix("EPSG:"))


CrsDep = Annotated[int, Depends(output_crs)]


def incident_filter(
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[dt.datetime | None, Query(description="updated at or after")] = None,
    overdue: Annotated[bool | None, Query(description="open and past due_at (or not)")] = None,
    category: Annotated[
        str | None, Query(max_length=32, description="category code prefix, e.g. SJ01")
    ] = None,
    area: Annotated[str | None, Query(max_length=64, description="area code of any level")] = None,
) -> IncidentFilter:
    """The incident filters of the list and of the incident vector tiles (one parser for both)."""
    statuses = tuple(s.strip() for s in status.split(",") if s.strip()) if status else ()
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise BadRequest(
            f"Unknown status {', '.join(unknown)}. Statuses: {', '.join(sorted(STATUSES))}."
        )
    if since is not None:
        try:
            check_year(since)
        except ValueError as exc:
            raise BadRequest(f"since: {exc}.", {"since": since.isoformat()}) from exc
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return IncidentFilter(statuses, grid, department, since, overdue, category, area)


IncidentFilterDep = Annotated[IncidentFilter, Depends(incident_filter)]
