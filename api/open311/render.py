"""Open311 GeoReport v2 output: JSON and XML documents, and errors in the spec's own form.

Errors under /open311 are an array of {code, description} (XML: <errors><error>…), with HTTP 404
for a missing resource, 403 for a missing or invalid api_key and 400 for anything else the
client can fix. Routes of the Open311 router use `Open311Route`, which turns every error raised
while serving them into an `Open311Error`; the exception still travels through the request's
dependencies (so the database transaction is rolled back) and is rendered by the handler that
`install_error_handler` registers for that one exception class. The rest of the API keeps the
global {"error": …} envelope.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.error_messages import localise
from api.errors import (
    DB_RETRY_AFTER_S,
    QUERY_RETRY_AFTER_S,
    DomainError,
    query_timeout_message,
    statement_timeout_of,
)
from api.locale import request_translator
from api.responses import dumps
from gis.errors import SpatialError

log = logging.getLogger("gridgov.open311")

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# Spark convention: a JSON array under these names is a list of elements with the singular name.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all (not even escaped): C0 controls other than tab, LF, CR,
# lone surrogates and U+FFFE/U+FFFF. A description typed into another door may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered in Open311 form: HTTP status, format and the {code, description} list."""

    def __init__(
        self,
        status: int,
        descriptions: list[str],
        fmt: str = "json",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = descriptions
        self.fmt = fmt
        self.headers = headers or {}


def format_of(path: str) -> str:
    """The format a path asks for (its extension), JSON when it names none we know."""
    return "xml" if path.lower().endswith(".xml") else "json"


def open311_status(exc: Exception) -> int:
    """The HTTP status the spec prescribes: 404 missing, 403 api_key, 400 otherwise."""
    if isinstance(exc, DomainError):
        return {401: 403, 403: 403, 404: 404}.get(exc.status, 400)
    if isinstance(exc, StarletteHTTPException):
        return {401: 403, 403: 403, 404: 404}.get(exc.status_code, 400)
    return 400


def descriptions_of(exc: Exception) -> list[str]:
    """What to tell the user: one description per problem."""
    if isinstance(exc, DomainError | SpatialError):
        problems = exc.details.get("problems") if isinstance(exc.details, dict) else None
        if isinstance(problems, list) and problems and all(isinstance(p, str) for p in problems):
            return list(problems)
        return [exc.message]
    if isinstance(exc, RequestValidationError):
        out = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query"))
            out.append(f"Invalid {where or 'request'}: {e.get('msg', 'invalid value')}.")
        return out or ["The request is invalid."]
    if isinstance(exc, StarletteHTTPException):
        return [str(exc.detail)]
    return ["The request could not be processed."]


class Open311Route(APIRoute):
    """An APIRoute whose errors, whatever raised them, become `Open311Error`s."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler; re-raising keeps rollback in the dependencies' exit."""
        handler = super().get_route_handler()

        async def open311_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Open311Error:
                raise
            except (
                DomainError,
                SpatialError,
                RequestValidationError,
                StarletteHTTPException,
            ) as exc:
                fmt = format_of(request.url.path)
                raise Open311Error(open311_status(exc), descriptions_of(exc), fmt) from exc
            except psycopg.DataError as exc:
                # a value PostgreSQL cannot store (e.g. a NUL character in text): the client's
                # to fix, as on the JSON API (422 there, 400 in Open311's vocabulary)
                raise Open311Error(
                    400,
                    ["A value cannot be stored (for example a NUL character in a text field)."],
                    format_of(request.url.path),
                ) from exc
            except psycopg.errors.QueryCanceled as exc:
                # GRIDGOV_STATEMENT_TIMEOUT_MS ran out: 503 and when to try again, as on the API
                log.warning("query timeout on %s %s", request.method, request.url.path)
                raise Open311Error(
                    503,
                    [query_timeout_message(statement_timeout_of(request))],
                    format_of(request.url.path),
                    {"Retry-After": str(QUERY_RETRY_AFTER_S)},
                ) from exc
            except (psycopg.OperationalError, PoolTimeout) as exc:
                # the same outage answer as the rest of the API: 503 and when to come back
                log.warning(
                    "database unavailable on %s %s: %s", request.method, request.url.path, exc
                )
                raise Open311Error(
                    503,
                    ["The database is unavailable for a moment; please retry shortly."],
                    format_of(request.url.path),
                    {"Retry-After": str(DB_RETRY_AFTER_S)},
                ) from exc
            except Exception as exc:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                raise Open311Error(
                    500,
                    ["Something went wrong on our side; it has been logged. Please try again."],
                    format_of(request.url.path),
                ) from exc

        return open311_handler


def install_error_handler(app: FastAPI) -> None:
    """Render `Open311Error` (raised only under /open311) as the spec's error list."""

    async def _open311(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Open311Error)
        # descriptions in the request's language (Accept-Language, ?lang=), as on the JSON API
        tr = request_translator(request)
        errors = [{"code": exc.status, "description": localise(d, tr)} for d in exc.descriptions]
        response = render(exc.fmt, "errors", errors, status=exc.status)
        response.headers.update(exc.headers)
        return response

    app.add_exception_handler(Open311Error, _open311)


def render(fmt: str, root: str, content: Any, status: int = 200) -> Response:
    """A JSON or XML response; `root` names the XML root element (JSON has no root)."""
    if fmt == "xml":
        return Response(xml_document(root, content), status, media_type=FORMATS["xml"])
    return Response(dumps(content), status, media_type=FORMATS["json"])


def xml_document(root: str, content: Any) -> bytes:
    """UTF-8 XML with the declaration the spec asks for; text is escaped by ElementTree."""
    element = ET.Element(root)
    _fill(element, content)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        tag = ITEM_TAGS.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, tag), child)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))
