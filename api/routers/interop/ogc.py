"""OGC API – Features at /ogc: landing page, conformance, collections, items (JSON/GeoJSON only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import ReadConnDep, SettingsDep
from api.errors import BadRequest, NotAcceptable
from api.locale import TranslatorDep
from api.responses import JSON, GeoJSON
from api.services.interop import ogc, ogc_html, ogc_openapi
from web_map.i18n import Translator

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

FORMAT = Query(description="json or html; or use the Accept header")
META = (ogc.JSON,)
FEATURES = (ogc.GEOJSON, ogc.JSON)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _negotiate(
    request: Request,
    f: str | None,
    offers: tuple[str, ...],
    allowed: set[str],
    html_ok: bool = True,
) -> str:
    """The media type to answer with (JSON, GeoJSON or HTML); refuses unknown parameters."""
    unknown = sorted(set(request.query_params) - allowed - {"f"})
    if unknown:
        raise BadRequest(
            f"Unknown query parameter {', '.join(unknown)}.",
            {"allowed": sorted(allowed | {"f"})},
        )
    if f is not None:
        if f.lower() == "html":
            return ogc.HTML
        if f.lower() not in ("json", "geojson"):
            raise BadRequest(
                f"Format f={f} is not offered; use f=json or f=html.", {"formats": ["json", "html"]}
            )
        return offers[0]
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return offers[0]
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append(media.lower())
    for offer in offers:
        kind = offer.split("/")[0]
        if offer in ranges or f"{kind}/*" in ranges:
            return offer
    if ogc.HTML in ranges and html_ok:
        return ogc.HTML  # a browser: its Accept names text/html before */*
    if "*/*" in ranges:
        return offers[0]
    raise NotAcceptable(
        f"This resource is available as {', '.join(offers)} only.", {"offers": list(offers)}
    )


@router.get("", response_class=JSON)
def landing(
    request: Request, tr: TranslatorDep, f: Annotated[str | None, FORMAT] = None
) -> Response:
    """Landing page: links to the API definition, conformance and collections."""
    media = _negotiate(request, f, META, set())
    root = str(request.base_url).rstrip("/")
    docs_url = root + (request.app.docs_url or "/docs")
    doc = ogc.landing_page(_base(request), _base(request) + "/api", docs_url)
    return _answer(doc, media, ogc_html.landing, tr)


@router.get("/conformance", response_class=JSON)
def conformance(
    request: Request, tr: TranslatorDep, f: Annotated[str | None, FORMAT] = None
) -> Response:
    """Conformance classes: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 CRS, Part 3 + CQL2."""
    media = _negotiate(request, f, META, set())
    return _answer(ogc.conformance(), media, ogc_html.conformance, tr)


@router.get("/collections", response_class=JSON)
def collections(
    request: Request, conn: ReadConnDep, tr: TranslatorDep, f: Annotated[str | None, FORMAT] = None
) -> Response:
    """The collections present in the data, with extents."""
    media = _negotiate(request, f, META, set())
    return _answer(ogc.collections(conn, _base(request)), media, ogc_html.collections, tr)


@router.get("/collections/{collection_id}", response_class=JSON)
def collection(
    collection_id: str,
    request: Request,
    conn: ReadConnDep,
    tr: TranslatorDep,
    f: Annotated[str | None, FORMAT] = None,
) -> Response:
    """One collection."""
    media = _negotiate(request, f, META, set())
    doc = ogc.collection(conn, _base(request), collection_id)
    return _answer(doc, media, ogc_html.collection, tr)


@router.get("/collections/{collection_id}/schema", response_class=JSON)
def collection_schema(
    collection_id: str,
    request: Request,
    conn: ReadConnDep,
    tr: TranslatorDep,
    f: Annotated[str | None, FORMAT] = None,
) -> JSON:
    """JSON Schema of the collection's features."""
    _negotiate(request, f, ("application/schema+json", ogc.JSON), set())
    doc = ogc.localised(ogc.schema(conn, _base(request), collection_id), tr)
    return JSON(doc, media_type="application/schema+json")


@router.get("/collections/{collection_id}/queryables", response_class=JSON)
def collection_queryables(
    collection_id: str,
    request: Request,
    conn: ReadConnDep,
    tr: TranslatorDep,
    f: Annotated[str | None, FORMAT] = None,
) -> Response:
    """Part 3: the properties `filter` and `sortby` may name (JSON Schema)."""
    media = _negotiate(request, f, (ogc.SCHEMA, ogc.JSON), set())
    doc = ogc.localised(ogc.queryables(conn, _base(request), collection_id), tr)
    if media == ogc.HTML:
        return ogc_html.page(ogc_html.queryables(doc, tr), tr)
    return JSON(doc, media_type=ogc.SCHEMA)


@router.get("/api", response_class=JSON)
def api_definition(request: Request) -> JSON:
    """This OGC API as an OpenAPI 3.0 document (service-desc), for OGC clients."""
    doc = ogc_openapi.ogc_document(request.app.openapi(), _base(request), ogc.parameter_schemas())
    return JSON(doc, media_type=ogc.OPENAPI)


ItemsQuery = Annotated[str | None, Query()]


@router.get("/collections/{collection_id}/items", response_class=GeoJSON)
def items(
    collection_id: str,
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    bbox: Annotated[
        str | None, Query(description="lower and upper corner, in bbox-crs (CRS84 by default)")
    ] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox")] = None,
    crs: Annotated[str | None, Query(description="CRS of the geometries (Part 2)")] = None,
    limit: Annotated[
        int | None,
        Query(
            description="page size, 1 … 10000",
            json_schema_extra={"minimum": 1, "maximum": ogc.MAX_LIMIT},
        ),
    ] = None,
    # OGC API Features answers a bad parameter with 400: the range is checked in the service
    offset: Annotated[
        int,
        Query(
            description="features to skip",
            json_schema_extra={"minimum": 0, "maximum": ogc.MAX_OFFSET},
        ),
    ] = 0,
    datetime: Annotated[
        str | None,
        Query(description="incidents only: report time, an instant or interval (a/b, ../b, a/..)"),
    ] = None,
    filter: Annotated[str | None, Query(description="CQL2 filter over the queryables")] = None,
    filter_lang: Annotated[
        str | None,
        Query(
            alias="filter-lang",
            description="cql2-text (default) or cql2-json",
            json_schema_extra={"enum": ["cql2-text", "cql2-json"]},
        ),
    ] = None,
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description="CRS of geometries in the filter")
    ] = None,
    sortby: Annotated[
        str | None, Query(description="queryables, comma-separated; '-' sorts descending")
    ] = None,
    f: Annotated[str | None, FORMAT] = None,
) -> Response:
    """Features of a collection, offset-paged, with numberMatched and next/prev links."""
    params = {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "filter"}
    params |= {"filter-lang", "filter-crs", "sortby"}
    params |= ogc.parameter_queryables(collection_id)  # Part 3: ?status=closed
    media = _negotiate(request, f, FEATURES, params)
    ask = ogc.ItemsRequest(bbox, bbox_crs, datetime, crs, filter, filter_lang, filter_crs, sortby)
    body, used = ogc.items(
        conn,
        _base(request),
        collection_id,
        ask,
        limit=settings.ogc.default_limit if limit is None else limit,
        offset=offset,
        tz=settings.calendar.timezone,
        query=dict(request.query_params),
        tr=tr,
    )
    if media == ogc.HTML:
        return ogc_html.page(ogc_html.items(collection_id, body, tr), tr)
    return GeoJSON(body, media_type=media, headers={"Content-Crs": f"<{used.uri}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=GeoJSON)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    conn: ReadConnDep,
    tr: TranslatorDep,
    crs: Annotated[str | None, Query(description="CRS of the geometry (Part 2)")] = None,
    f: Annotated[str | None, FORMAT] = None,
) -> Response:
    """One feature."""
    media = _negotiate(request, f, FEATURES, {"crs"})
    used = ogc.output_crs(crs)
    doc = ogc.item(conn, _base(request), collection_id, feature_id, used, tr)
    if media == ogc.HTML:
        return ogc_html.page(ogc_html.feature(collection_id, doc, tr), tr)
    return GeoJSON(doc, media_type=media, headers={"Content-Crs": f"<{used.uri}>"})


def _answer(
    doc: dict[str, Any],
    media: str,
    as_html: Callable[[dict[str, Any], Translator], str],
    tr: Translator,
) -> Response:
    """The document, its words in `tr`'s language, as JSON or rendered as HTML when that was
    asked for."""
    doc = ogc.localised(doc, tr)
    if media == ogc.HTML:
        return ogc_html.page(as_html(doc, tr), tr)
    return JSON(doc, media_type=media)
