"""Domain errors and their single mapping to HTTP.

Every error body is {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from shapely.errors import GEOSException
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.error_messages import localise, localise_problems
from api.locale import request_translator
from api.responses import JSON
from gis.errors import SpatialError
from web_map.i18n import CHINESE, N_, Translator

log = logging.getLogger("gridgov")
DB_RETRY_AFTER_S = 5  # seconds a client should wait while the database is unreachable
QUERY_RETRY_AFTER_S = 30  # after a statement timeout: a retry at once would most likely time out

# People read these (zh_CN first; they move into the gettext catalogue with the rest).
MESSAGES = {
    # English ids of the catalogue (api/error_messages.py); the handlers answer in the caller's
    # language, the CLI in GRIDGOV_LOCALE's. Open311 prints query_timeout in Chinese.
    "geos": "The geometry cannot be processed (e.g. a polygon covering the whole world). "
    "Check the boundary.",
    "nested": "The request body is nested too deeply.",
    "query_timeout": N_(
        "Query timed out: the database did not finish this request within {seconds} seconds "
        "and it was cancelled. Narrow the period or the area and try again; for large amounts "
        "of data export from the command line (gridgov export / gridgov stats)."
    ),
}


class DomainError(Exception):
    """Base of errors a client can cause; `status` is decided here, not in services."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(DomainError):
    code, status = "bad_request", 400


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


class Forbidden(DomainError):
    code, status = "forbidden", 403


class NotFound(DomainError):
    code, status = "not_found", 404


class NotAcceptable(DomainError):
    code, status = "not_acceptable", 406


class Conflict(DomainError):
    code, status = "conflict", 409


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TooManyStreams(DomainError):
    code, status = "too_many_streams", 503  # the process's cap (GRIDGOV_STREAM_MAX_CLIENTS)


class TooManyUserStreams(TooManyStreams):
    status = 429  # one user's cap (GRIDGOV_STREAM_PER_USER)


class BasemapUnavailable(DomainError):
    code, status = "basemap_unavailable", 503  # the renderer (Mapnik) is missing or failing


class StaleVersion(DomainError):
    code, status = "stale_version", 412


class PreconditionRequired(DomainError):
    code, status = "precondition_required", 428


class AreaInUse(Conflict):
    code = "area_in_use"


class CodeTaken(Conflict):
    code = "code_taken"


class ValidationFailed(DomainError):
    code, status = "validation_failed", 422


def invalid_value(field: str, problem: str) -> ValidationFailed:
    """422 about one field: "Invalid value in 'field': problem.", the problem also as details."""
    return ValidationFailed(
        f"Invalid value in '{field}': {problem}.",
        {"problems": [{"field": field, "problem": problem}]},
    )


class UnknownCategory(ValidationFailed):
    code = "unknown_category"


class CategoryNotAvailable(ValidationFailed):
    code = "category_not_available"  # a local ("X") category outside its area


class PayloadTooLarge(DomainError):
    code, status = "photo_too_large", 413


class UnsupportedMediaType(DomainError):
    code, status = "unsupported_media_type", 415


class InvalidImage(ValidationFailed):
    code = "invalid_image"  # not decodable, a decompression bomb, or not what it claims to be


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The single error envelope."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _readable(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Summarise pydantic errors for people; keep the list for machines."""
    details = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        details.append({"field": loc, "problem": e.get("msg", "invalid")})
    if any(e.get("type") == "json_invalid" for e in errors):
        return "The request body is not valid JSON.", details
    first = details[0] if details else {"field": "", "problem": "invalid"}
    where = f"'{first['field']}'" if first["field"] else "the request"
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"Invalid value in {where}: {first['problem']}{more}.", details


def statement_timeout_of(request: Request) -> int:
    """The statement timeout (ms) the request ran under: the export one if it asked for it."""
    timeout = getattr(request.state, "statement_timeout_ms", None)
    if timeout is None:
        timeout = request.app.state.settings.db.statement_timeout_ms
    return int(timeout)


def query_timeout_message(timeout_ms: int, tr: Translator = CHINESE) -> str:
    """What a person reads when a query ran out of time, in `tr`'s language."""
    return tr(MESSAGES["query_timeout"], seconds=f"{timeout_ms / 1000:g}")


def _tr(request: Request, message: str) -> str:
    """`message` in the request's language (GRIDGOV_LOCALE, Accept-Language, the page's choice)."""
    try:
        return localise(message, request_translator(request))
    except Exception:  # an error page must never fail on its own wording
        log.exception("could not translate an error message")
        return message


def _details(request: Request, details: dict[str, Any]) -> dict[str, Any]:
    """An error's details with the topology problems' messages in the request's language."""
    if "problems" not in details:
        return details
    try:
        return dict(localise_problems(details, request_translator(request)))
    except Exception:  # as _tr: never fail on wording
        log.exception("could not translate the problems of an error")
        return details


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, spatial, validation and unexpected errors to the envelope."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSON:
        body = error_body(exc.code, _tr(request, exc.message), _details(request, exc.details))
        return JSON(body, exc.status)

    @app.exception_handler(SpatialError)
    async def _spatial(request: Request, exc: SpatialError) -> JSON:
        body = error_body(exc.code, _tr(request, exc.message), _details(request, exc.details))
        return JSON(body, 422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSON:
        message, details = _readable(list(exc.errors()))
        message = _tr(request, message)
        is_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        code = "malformed_json" if is_json else "validation_failed"
        return JSON(error_body(code, message, {"problems": details}), 400 if is_json else 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's body parsing gave up
            return JSON(error_body("malformed_json", _tr(request, MESSAGES["nested"])), 400)
        messages = {404: "No such resource.", 405: "Method not allowed on this resource."}
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = _tr(request, messages.get(exc.status_code, str(exc.detail)))
        return JSON(error_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError) -> JSON:
        # client-side refusals such as a NUL character in text: the request's fault, nothing stored
        log.info("refused value on %s %s: %s", request.method, request.url.path, exc)
        message = _tr(
            request, "A value in the request cannot be stored (e.g. a NUL character in text)."
        )
        return JSON(error_body("invalid_value", message), 422)

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def _query_timeout(request: Request, exc: Exception) -> JSON:
        # statement_timeout (GRIDGOV_STATEMENT_TIMEOUT_MS) ended the query; the transaction was
        # rolled back when the connection left the request, so the pool gets it back clean
        timeout_ms = statement_timeout_of(request)
        log.warning("query timeout (%s ms) on %s %s", timeout_ms, request.method, request.url.path)
        body = error_body(
            "query_timeout",
            query_timeout_message(timeout_ms, request_translator(request)),
            {"timeout_ms": timeout_ms},
        )
        return JSON(body, 503, headers={"Retry-After": str(QUERY_RETRY_AFTER_S)})

    @app.exception_handler(GEOSException)
    async def _geos(request: Request, exc: GEOSException) -> JSON:
        # GEOS gave up on a geometry (e.g. a whole-world polygon): the input's fault, not ours
        log.info("GEOS refused a geometry on %s %s: %s", request.method, request.url.path, exc)
        return JSON(
            error_body("invalid_geometry", _tr(request, MESSAGES["geos"]), {"reason": str(exc)}),
            422,
        )

    @app.exception_handler(psycopg.errors.InternalError_)
    async def _internal(request: Request, exc: psycopg.errors.InternalError_) -> JSON:
        if "GEOS" in str(exc) or "TopologyException" in str(exc):  # the same, inside PostGIS
            log.info(
                "PostGIS/GEOS refused a geometry on %s %s: %s",
                request.method,
                request.url.path,
                exc,
            )
            return JSON(error_body("invalid_geometry", _tr(request, MESSAGES["geos"])), 422)
        return await _unexpected(request, exc)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> JSON:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        message = _tr(request, "The database is unavailable for a moment; please retry shortly.")
        body = error_body("database_unavailable", message)
        return JSON(body, 503, headers={"Retry-After": str(DB_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSON(
            error_body(
                "internal_error",
                _tr(request, "Something went wrong on our side; it has been logged."),
            ),
            500,
        )
