"""Open311 GeoReport v2 under /open311/v2: discovery, services, service definitions, requests.

Every resource ends in .json or .xml. Errors come back in the spec's form (see render.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from api.deps import ConnDep, ReadConnDep, SettingsDep
from api.deps_photos import PhotoWritesDep, is_multipart, read_parts
from api.errors import BadRequest, Forbidden, NotFound
from api.locale import TranslatorDep
from api.open311.forms import RequestForm, form_from_pairs, parse_form, parse_query
from api.open311.render import FORMATS, Open311Route, render
from api.open311.requests import get_request, list_requests, submit_request
from api.open311.services import list_services, service_definition
from api.services.identity.auth import user_for_token
from api.services.intake.catalogue import service_codes_at

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Discovery's changeset must sort; categories carry no edit time, so this is the time the
# server started: clients that cache service lists refresh after each restart.
STARTED = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")

router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"Unknown format '.{fmt}': GeoReport v2 resources end in .json or .xml.")
    return fmt


async def request_form(request: Request, settings: SettingsDep) -> RequestForm:
    """The POST form (application/x-www-form-urlencoded, UTF-8, or multipart/form-data with
    `media` photos), plus query-string fields."""
    query = list(request.query_params.multi_items())
    if is_multipart(request):
        parts = await read_parts(request, settings.photos, "media")
        form = form_from_pairs([*query, *parts.pairs])
        form.media = list(parts.files)
        return form
    body = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and media != "application/x-www-form-urlencoded":
        raise BadRequest(
            "Send the service request form-encoded "
            "(Content-Type: application/x-www-form-urlencoded), or as multipart/form-data "
            "with a photo in `media`."
        )
    return parse_form(body, query)


FormDep = Annotated[RequestForm, Depends(request_form)]


@router.get("/discovery.{fmt}", summary="Service discovery")
def discovery(fmt: str, request: Request) -> Response:
    """Where the GeoReport v2 endpoint is, its formats, and how to get an api_key."""
    fmt = _format(fmt)
    base = str(request.base_url).rstrip("/") + PREFIX
    return render(
        fmt,
        "discovery",
        {
            "changeset": STARTED,
            "contact": "Ask the GridGov administrator of this service.",
            "key_service": "An api_key is a GridGov API token: the administrator issues one with "
            "`gridgov token create USER`.",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": STARTED,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@router.get("/services.{fmt}", summary="GET Service List")
def services(
    fmt: str,
    conn: ConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    lat: Annotated[float | None, Query(description="with long: the 4+X catalogue there")] = None,
    long: Annotated[float | None, Query(description="with lat (WGS 84)")] = None,
) -> Response:
    """Every category without sub-classes as a service; `group` is its major class; its
    generated description in the caller's language (Accept-Language; Chinese by default)."""
    fmt = _format(fmt)
    found = list_services(conn)
    if lat is not None or long is not None:  # extension (issue 7): only what is offered there
        offered = service_codes_at(conn, settings, lat, long)
        found = [s for s in found if s.code in offered]
    return render(fmt, "services", [s.as_open311(tr) for s in found])


@router.get("/services/{service_code}.{fmt}", summary="GET Service Definition")
def definition(service_code: str, fmt: str, conn: ConnDep) -> Response:
    """The attributes of one service (datatypes as in the spec)."""
    fmt = _format(fmt)
    return render(fmt, "service_definition", service_definition(conn, service_code))


@router.post("/requests.{fmt}", summary="POST Service Request", status_code=201)
def create_request(
    fmt: str,
    conn: ConnDep,
    settings: SettingsDep,
    form: FormDep,
    writes: PhotoWritesDep,
    tr: TranslatorDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="same key + same form → same request")
    ] = None,
) -> Response:
    """Report through the same intake as POST /api/v1/incidents; needs an api_key (a token)."""
    fmt = _format(fmt)
    api_key = form.get("api_key")
    if api_key is None:
        raise Forbidden("api_key is missing: send a GridGov API token as api_key.")
    user = user_for_token(conn, api_key)
    if user is None:
        raise Forbidden("Invalid api_key: this token is unknown, revoked or expired.")
    answer, created = submit_request(
        conn,
        settings,
        form,
        user=user,
        idempotency_key=idempotency_key or None,
        writes=writes,
        tr=tr,
    )
    return render(fmt, "service_requests", answer, status=201 if created else 200)


@router.get("/requests.{fmt}", summary="GET Service Requests")
def requests(
    fmt: str,
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    service_request_id: Annotated[str | None, Query(description="comma list")] = None,
    service_code: Annotated[str | None, Query(description="comma list")] = None,
    start_date: Annotated[str | None, Query(description="w3 date/time")] = None,
    end_date: Annotated[str | None, Query(description="w3 date/time")] = None,
    status: Annotated[str | None, Query(description="open, closed or open,closed")] = None,
    bbox: Annotated[str | None, Query(description="extension: x0,y0,x1,y1 (long, lat)")] = None,
    updated_after: Annotated[str | None, Query(description="extension: w3 date/time")] = None,
    updated_before: Annotated[str | None, Query(description="extension: w3 date/time")] = None,
    page: Annotated[str | None, Query(description="extension: page number, from 1")] = None,
    page_size: Annotated[str | None, Query(description="extension: requests per page")] = None,
) -> Response:
    """Requests newest first; default window the last 90 days, 1000 per page."""
    fmt = _format(fmt)
    query = parse_query(
        {
            "service_request_id": service_request_id,
            "service_code": service_code,
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
            "bbox": bbox,
            "updated_after": updated_after,
            "updated_before": updated_before,
            "page": page,
            "page_size": page_size,
        },
        now=dt.datetime.now(dt.UTC),
        max_page_size=settings.api.max_page_size,
    )
    base = str(request.base_url).rstrip("/")  # media_url is absolute
    return render(fmt, "service_requests", list_requests(conn, settings, query, base=base, tr=tr))


@router.get("/requests/{service_request_id}.{fmt}", summary="GET Service Request")
def one_request(
    service_request_id: str,
    fmt: str,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
) -> Response:
    """One request, as a one-element list."""
    fmt = _format(fmt)
    base = str(request.base_url).rstrip("/")
    answer = get_request(conn, settings, service_request_id, base=base, tr=tr)
    return render(fmt, "service_requests", answer)


@router.api_route(
    "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
def unknown(rest: str, request: Request) -> Response:
    """Anything else under /open311/v2 answers in Open311 form too."""
    raise NotFound(
        f"No Open311 resource {request.method} {PREFIX}/{rest}. GeoReport v2 offers "
        "discovery, services, services/{service_code}, requests and requests/{id}, "
        "each ending in .json or .xml."
    )
