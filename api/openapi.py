"""The OpenAPI document made true: every error a route can answer, in its real form and body.

FastAPI documents only a route's success status, types our own Response classes' bodies as a bare
string and adds a 422 `HTTPValidationError` we never send. `install` post-processes the generated
document once, in one place:

- error statuses are derived from what a route is built from (its parameters and dependencies, the
  request-size and rate-limit middleware) plus the few its services add (`OPERATIONS`), each with
  the {"error": {code, message, details}} body, or Open311's [{code, description}] list (and its
  XML) under /open311;
- the success body of each operation is the model in `OPERATIONS` (api/schemas/responses.py), in
  every media type the route really answers with (GeoJSON, JSON, CSV, XML, MVT).

tests/test_schemathesis.py runs schemathesis' status code, content type and response schema
conformance checks against this document with a token of each role.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import TypeAdapter

from api.limits import BODY_METHODS, rule_for
from api.open311.render import Open311Route
from api.schemas import responses as r
from api.schemas import responses_reports as rr
from api.schemas.incidents import IncidentIn

log = logging.getLogger("gridgov")

REF = "#/components/schemas/{model}"
JSON, XML = "application/json", "text/xml"
MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
HTML = "text/html"
OGC_OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
STRING: dict[str, Any] = {"type": "string"}

ERROR_TEXT = {
    400: "Bad request: a malformed body, or a value this route refuses (bbox, cursor, limit, …)",
    401: "Unauthorized: no token where one is needed, or an unknown/revoked/expired one",
    403: "Forbidden: the caller's role or area may not do this (or a page request without CSRF)",
    404: "Not found, or not visible to the caller",
    406: "Not acceptable: the Accept header asks for a format this resource does not offer",
    409: "Conflict: the state does not allow it (transition, area in use, code taken, reused key)",
    412: "Precondition failed: If-Match names a version that is no longer current",
    413: "Request body too large (or one photo over GRIDGOV_MAX_PHOTO_BYTES)",
    415: "Unsupported media type: a body or photo of a type this route does not take",
    422: "Validation failed: a value is well-formed but not acceptable (geometry, category, …)",
    428: "Precondition required: send If-Match with the version (ETag) you read",
    429: "Too many requests from this address; see Retry-After",
    503: "Service unavailable (database, a query over the statement timeout, or too many live "
    "streams); see Retry-After",
}
# Open311 GeoReport v2 answers its own errors with 400, 403 or 404 (api/open311/render.py); the
# body-size and rate-limit middleware answer before any route, in the GridGov envelope.
OPEN311_STATUS = {401: 403, 403: 403, 404: 404, 413: 413, 429: 429, 503: 503}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

# Dependencies (api/deps.py, the stream's Last-Event-ID) that refuse a malformed value with 400.
BAD_REQUEST_DEPS = {
    "bbox_param",
    "cursor_param",
    "page_size",
    "output_crs",
    "incident_filter",
    "last_event",
}


@dataclass(frozen=True)
class Doc:
    """What the generated document cannot know about one operation."""

    body: Any = None  # the success body: a model or type of api/schemas/responses.py
    errors: frozenset[int] = frozenset()  # statuses its services add to the derived ones
    also: dict[int, str] = field(default_factory=dict)  # other success statuses, e.g. a replay
    media: tuple[str, ...] = ()  # other media types the success body may come in


def _doc(
    body: Any = None, *errors: int, also: dict[int, str] | None = None, media: tuple[str, ...] = ()
) -> Doc:
    return Doc(body, frozenset(errors), also or {}, media)


AREA_EDIT = (403, 404, 409, 412, 422, 428)
OGC = (400, 406)
OPEN311_LIST = list[r.Open311Request]
OPERATIONS: dict[str, Doc] = {
    "GET /healthz": _doc(r.Health),
    "GET /api/v1/locate": _doc(r.Located),
    "POST /api/v1/incidents": _doc(
        r.Incident,
        400,
        409,
        415,
        422,
        also={200: "The same Idempotency-Key and body: the incident stored before"},
    ),
    # the case file's photos (issue 16, api/routers/intake/photos.py)
    "POST /api/v1/incidents/{incident_id}/photos": _doc(r.PhotosAdded, 400, 403, 409, 415, 422),
    "GET /api/v1/photos/{photo_id}": _doc(
        None, media=("image/jpeg",), also={304: "Not modified: If-None-Match holds the ETag"}
    ),
    "GET /api/v1/photos/{photo_id}/thumb": _doc(
        None, media=("image/jpeg",), also={304: "Not modified: If-None-Match holds the ETag"}
    ),
    "POST /api/v1/photos/{photo_id}/hide": _doc(r.PhotosAdded, 403, 409, 422),
    "GET /api/v1/incidents": _doc(r.FeaturePage),
    "GET /api/v1/incidents/{incident_id}": _doc(r.Incident),
    "GET /api/v1/areas": _doc(r.FeaturePage),
    "GET /api/v1/areas/{code}": _doc(r.Feature),
    "GET /api/v1/buildings": _doc(r.FeaturePage),
    "GET /api/v1/departments": _doc(r.Departments),
    "GET /api/v1/categories": _doc(r.Categories),
    "GET /api/v1/routing-rules": _doc(r.RoutingRules),
    "GET /ogc": _doc(r.OgcLanding, *OGC, media=(HTML,)),
    "GET /ogc/api": _doc(dict[str, Any], media=(OGC_OPENAPI,)),
    "GET /ogc/conformance": _doc(r.OgcConformance, *OGC, media=(HTML,)),
    "GET /ogc/collections": _doc(r.OgcCollections, *OGC, media=(HTML,)),
    "GET /ogc/collections/{collection_id}": _doc(r.OgcCollection, *OGC, media=(HTML,)),
    "GET /ogc/collections/{collection_id}/schema": _doc(
        dict[str, Any], *OGC, media=("application/schema+json",)
    ),
    "GET /ogc/collections/{collection_id}/queryables": _doc(
        dict[str, Any], *OGC, media=("application/schema+json", HTML)
    ),
    "GET /ogc/collections/{collection_id}/items": _doc(r.OgcItems, *OGC, media=(JSON, HTML)),
    "GET /ogc/collections/{collection_id}/items/{feature_id}": _doc(
        r.Feature, *OGC, media=(JSON, HTML)
    ),
    "POST /api/v1/incidents/{incident_id}/actions": _doc(r.Incident, 403, 409, 422),
    "POST /api/v1/incidents/{incident_id}/whistle": _doc(r.Whistle, 400, 403, 409, 422),
    "POST /api/v1/whistles/{whistle_id}/check-in": _doc(r.Whistle, 403, 409, 422),
    "GET /api/v1/whistles": _doc(r.Whistles, 403),
    "POST /api/v1/whistles/{whistle_id}/withdraw": _doc(r.Whistle, 403, 404, 409, 422),
    # 大联勤 patrols (issue 22, api/routers/patrols.py): any JSON object, described in docs
    "POST /api/v1/patrols": _doc(None, 403, 422),
    "GET /api/v1/patrols": _doc(None, 403),
    "GET /api/v1/patrols/coverage": _doc(None, 400, 403, media=(JSON, "text/csv")),
    "GET /api/v1/patrols/{patrol_id}": _doc(None, 403, 404),
    "POST /api/v1/patrols/{patrol_id}/join": _doc(None, 403, 404, 409),
    "POST /api/v1/patrols/{patrol_id}/points": _doc(None, 403, 404, 409, 422),
    "POST /api/v1/patrols/{patrol_id}/end": _doc(None, 403, 404, 409, 422),
    "GET /api/v1/patrols/{patrol_id}/track": _doc(None, 403, 404),
    "GET /api/v1/patrols/tracks": _doc(None, 403),
    "GET /api/v1/patrols/live": _doc(None, 403, 429),  # text/event-stream, like /api/v1/stream
    "GET /api/v1/incidents/{incident_id}/nearest-officers": _doc(None, 403, 404),
    "GET /api/v1/stream": _doc(None),  # text/event-stream, as FastAPI documents it
    "POST /api/v1/areas": _doc(r.AreaChange, 403, 404, 409, 422),
    "PUT /api/v1/areas/{code}": _doc(r.AreaChange, *AREA_EDIT),
    "DELETE /api/v1/areas/{code}": _doc(r.AreaChange, *AREA_EDIT),
    "POST /api/v1/areas/{code}/preview": _doc(r.AreaChange, *AREA_EDIT),
    "POST /api/v1/areas/{code}/split": _doc(r.AreasChange, *AREA_EDIT),
    "POST /api/v1/areas/merge": _doc(r.AreasChange, *AREA_EDIT),
    "GET /api/v1/areas/{code}/history": _doc(r.FeaturePage),
    "GET /api/v1/coverage": _doc(r.FeatureCollection, 404),
    "GET /open311/v2/discovery.{fmt}": _doc(r.Open311Discovery),
    "GET /open311/v2/services.{fmt}": _doc(list[r.Open311Service], 400),
    "GET /open311/v2/services/{service_code}.{fmt}": _doc(r.Open311Definition),
    "POST /open311/v2/requests.{fmt}": _doc(
        OPEN311_LIST,
        400,
        403,
        also={200: "The same Idempotency-Key and form: the request stored before"},
    ),
    "GET /open311/v2/requests.{fmt}": _doc(OPEN311_LIST, 400),
    "GET /open311/v2/requests/{service_request_id}.{fmt}": _doc(OPEN311_LIST),
    "GET /api/v1/session": _doc(r.Session),
    "GET /tiles/{layer}.json": _doc(r.TileJSON, 400),
    "GET /tiles/{layer}/{z}/{x}/{y}.pbf": _doc(
        None, 400, 401, 403, also={304: "Not modified: If-None-Match holds the tile's ETag"}
    ),
    "GET /basemap/{z}/{x}/{y}.png": _doc(
        None, 400, 503, also={304: "Not modified: If-None-Match holds the tile's ETag"}
    ),
    "GET /api/v1/stats": _doc(r.Stats, 400, 403, media=("text/csv",)),
    "GET /api/v1/stats/flags": _doc(r.Flags, 400, 403),
    "GET /api/v1/stats/trend": _doc(r.Trend, 400, 403, 404),  # 404: a code that names no group
    "GET /api/v1/hotspots": _doc(r.FeatureCollection, 403),
    "GET /api/v1/repeats": _doc(r.FeatureCollection, 403),
    "GET /api/v1/incidents/{incident_id}/possible-duplicates": _doc(r.PossibleDuplicates, 403),
    "GET /api/v1/notifications": _doc(rr.Notifications, 403),
    "GET /api/v1/reports/mine": _doc(rr.MyReports),
    "POST /api/v1/reports/lookup": _doc(rr.Outcome, 404),
    "GET /api/v1/reports/{incident_id}": _doc(rr.Outcome, 404),
    "POST /api/v1/reports/{incident_id}/rating": _doc(rr.Outcome, 403, 404, 409, 422),
    "GET /api/v1/catalogue": _doc(r.Catalogue, 400, 404),
}


class Schemas:
    """Puts models' JSON Schemas into the document's components; hands back what to refer to."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components

    def __call__(self, tp: Any) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template=REF, mode="serialization")
        for name, sub in schema.pop("$defs", {}).items():
            self._put(name, sub)
        name = getattr(tp, "__name__", None)
        if isinstance(tp, type) and name is not None:
            self._put(name, schema)
            return {"$ref": REF.format(model=name)}
        return schema

    def _put(self, name: str, schema: dict[str, Any]) -> None:
        if self.components.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name} in the OpenAPI document")


def _dependants(d: Dependant) -> Iterator[Dependant]:
    for dep in d.dependencies:
        yield dep
        yield from _dependants(dep)


def derived_errors(route: RouteContext, method: str, path: str) -> set[int]:
    """The error statuses a route's parameters, dependencies and the middleware can answer."""
    deps = [route.dependant, *_dependants(route.dependant)]
    names = {getattr(d.call, "__name__", "") for d in deps}
    codes = set()
    if any(d.query_params or d.header_params or d.cookie_params or d.path_params for d in deps):
        codes.add(422)  # RequestValidationError → validation_failed
    if any(d.body_params for d in deps):
        codes |= {400, 422}  # malformed_json, validation_failed
    if any(d.path_params for d in deps):
        codes.add(404)  # no such id (or a value that routes nowhere)
    if names & BAD_REQUEST_DEPS:
        codes.add(400)
    if names & {"get_conn", "get_read_conn", "held_connection", "listener", "stream_slot"}:
        codes.add(503)  # database unreachable, query timeout (Retry-After); too many streams
    if names & {
        "optional_user",
        "request_user",
        "read_request_user",
        "stream_user",
        "held_connection",
    }:
        codes.add(401)  # a malformed, unknown, revoked or expired token
        if method not in {"GET", "HEAD", "OPTIONS"}:
            codes.add(403)  # a page session without its CSRF token
    if method in BODY_METHODS:
        codes.add(413)
    if rule_for(method, path):
        codes.add(429)
    return codes


def _is_json(media: str) -> bool:
    base = media.split(";")[0].strip()
    return base == JSON or base.endswith("+json")


def _success(
    responses: dict[str, Any], status: int, doc: Doc, open311: bool, schemas: Schemas
) -> None:
    """The success body in every media type the route answers with; other success statuses."""
    ok = responses.setdefault(str(status), {"description": "Successful Response"})
    content = ok.setdefault("content", {})
    for media in (*doc.media, *((JSON, XML) if open311 else ())):
        content.setdefault(media, {})
    body = schemas(doc.body) if doc.body is not None else None
    for media, entry in content.items():
        if _is_json(media):
            if body is not None:
                entry["schema"] = body
            elif entry.get("schema") == STRING:  # our JSON classes are not JSONResponse
                entry["schema"] = {}  # any JSON: nothing more is promised
        elif media not in (MVT, PNG):
            entry["schema"] = STRING  # XML, CSV
    for code, description in doc.also.items():
        responses[str(code)] = {"description": description}
        if code != 304:
            responses[str(code)]["content"] = content


def _errors(
    responses: dict[str, Any], codes: set[int], open311: bool, schemas: Schemas, ogc: bool = False
) -> None:
    """Each error status with its body: the envelope, Open311's list (JSON or XML), or under
    /ogc the OGC exception (api/transport.OgcExceptions rewrites every error there)."""
    envelope = {JSON: {"schema": schemas(r.OgcException if ogc else r.ErrorBody)}}
    open311_list = {JSON: {"schema": schemas(list[r.Open311Error])}, XML: {"schema": STRING}}
    if open311:
        codes = {OPEN311_STATUS.get(code, 400) for code in codes}
    responses.pop("422", None)  # FastAPI's HTTPValidationError: never sent
    for code in sorted(codes):
        in_open311_form = open311 and code in (400, 403, 404, 503)
        entry: dict[str, Any] = {
            "description": ERROR_TEXT[code],
            "content": open311_list if in_open311_form else envelope,
        }
        if code in (429, 503):
            entry["headers"] = RETRY_AFTER
        responses[str(code)] = entry


def document(app: FastAPI, doc: dict[str, Any]) -> dict[str, Any]:
    """Post-process FastAPI's generated document (see the module docstring)."""
    schemas = Schemas(doc.setdefault("components", {}).setdefault("schemas", {}))
    schemas(IncidentIn)  # the JSON report, read by a dependency (api/deps_photos.py)
    routes = {  # the routes as included (prefixes applied), as FastAPI's generator sees them
        (route.path_format, method): route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    seen = set()
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            route = routes.get((path, method.upper()))
            if route is None:
                continue
            key = f"{method.upper()} {path}"
            seen.add(key)
            spec = OPERATIONS.get(key, Doc())
            open311 = isinstance(route.original_route, Open311Route)
            responses = operation.setdefault("responses", {})
            _success(responses, route.status_code or 200, spec, open311, schemas)
            _errors(
                responses,
                derived_errors(route, method.upper(), path) | spec.errors,
                open311,
                schemas,
                ogc=path == "/ogc" or path.startswith("/ogc/"),
            )
            operation["responses"] = dict(sorted(responses.items()))
    paths = json.dumps(doc.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body: now unused
        if REF.format(model=name) not in paths:
            schemas.components.pop(name, None)
    for key in sorted(set(OPERATIONS) - seen):
        log.warning("api/openapi.py documents %s, which the app does not serve", key)
    return doc


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) serve the post-processed document."""
    generate = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            done.append(document(app, generate()))
        return done[0]

    app.openapi = openapi  # type: ignore[method-assign]
