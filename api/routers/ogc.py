"""OGC API – Features at /ogc: landing page, conformance, collections, items (JSON/GeoJSON only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import BBoxDep, ConnDep, SettingsDep
from api.errors import BadRequest, NotAcceptable
from api.responses import JSON, GeoJSON
from api.services import ogc

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

FORMAT = Query(description="json (the only format offered); or use the Accept header")
META = (ogc.JSON,)
FEATURES = (ogc.GEOJSON, ogc.JSON)
CONTENT_CRS = {"Content-Crs": f"<{ogc.CRS84}>"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _negotiate(request: Request, f: str | None, offers: tuple[str, ...], allowed: set[str]) -> str:
    """The media type to answer with; refuses unknown parameters as the standard requires."""
    unknown = sorted(set(request.query_params) - allowed - {"f"})
    if unknown:
        raise BadRequest(
            f"Unknown query parameter {', '.join(unknown)}.",
            {"allowed": sorted(allowed | {"f"})},
        )
    for name in ("crs", "bbox-crs"):  # Part 2 parameters (GDAL sends crs): CRS84 is all we have
        value = request.query_params.get(name)
        if value is not None and value != ogc.CRS84:
            raise BadRequest(f"{name} must be {ogc.CRS84}.", {"crs": [ogc.CRS84]})
    if f is not None:
        if f.lower() not in ("json", "geojson"):
            raise BadRequest(f"Format f={f} is not offered; use f=json.", {"formats": ["json"]})
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
        if offer in ranges or "*/*" in ranges or f"{kind}/*" in ranges:
            return offer
    raise NotAcceptable(
        f"This resource is available as {', '.join(offers)} only.", {"offers": list(offers)}
    )


@router.get("", response_class=JSON)
def landing(request: Request, f: Annotated[str | None, FORMAT] = None) -> JSON:
    """Landing page: links to the API definition, conformance and collections."""
    media = _negotiate(request, f, META, set())
    root = str(request.base_url).rstrip("/")
    api_url = root + (request.app.openapi_url or "/openapi.json")
    docs_url = root + (request.app.docs_url or "/docs")
    return JSON(ogc.landing_page(_base(request), api_url, docs_url), media_type=media)


@router.get("/conformance", response_class=JSON)
def conformance(request: Request, f: Annotated[str | None, FORMAT] = None) -> JSON:
    """Conformance classes: Core and GeoJSON."""
    return JSON(ogc.conformance(), media_type=_negotiate(request, f, META, set()))


@router.get("/collections", response_class=JSON)
def collections(request: Request, conn: ConnDep, f: Annotated[str | None, FORMAT] = None) -> JSON:
    """The collections present in the data, with extents."""
    media = _negotiate(request, f, META, set())
    return JSON(ogc.collections(conn, _base(request)), media_type=media)


@router.get("/collections/{collection_id}", response_class=JSON)
def collection(
    collection_id: str, request: Request, conn: ConnDep, f: Annotated[str | None, FORMAT] = None
) -> JSON:
    """One collection."""
    media = _negotiate(request, f, META, set())
    return JSON(ogc.collection(conn, _base(request), collection_id), media_type=media)


@router.get("/collections/{collection_id}/schema", response_class=JSON)
def collection_schema(
    collection_id: str, request: Request, conn: ConnDep, f: Annotated[str | None, FORMAT] = None
) -> JSON:
    """JSON Schema of the collection's features."""
    _negotiate(request, f, ("application/schema+json", ogc.JSON), set())
    doc = ogc.schema(conn, _base(request), collection_id)
    return JSON(doc, media_type="application/schema+json")


@router.get("/collections/{collection_id}/items", response_class=GeoJSON)
def items(
    collection_id: str,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    bbox: BBoxDep,
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
    f: Annotated[str | None, FORMAT] = None,
) -> GeoJSON:
    """Features of a collection, offset-paged, with numberMatched and next/prev links."""
    params = {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime"}
    media = _negotiate(request, f, FEATURES, params)
    body = ogc.items(
        conn,
        _base(request),
        collection_id,
        bbox=bbox,
        datetime=datetime,
        limit=settings.ogc.default_limit if limit is None else limit,
        offset=offset,
        tz=settings.calendar.timezone,
        query=dict(request.query_params),
    )
    return GeoJSON(body, media_type=media, headers=CONTENT_CRS)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=GeoJSON)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    conn: ConnDep,
    f: Annotated[str | None, FORMAT] = None,
) -> GeoJSON:
    """One feature."""
    media = _negotiate(request, f, FEATURES, {"crs"})
    doc = ogc.item(conn, _base(request), collection_id, feature_id)
    return GeoJSON(doc, media_type=media, headers=CONTENT_CRS)
