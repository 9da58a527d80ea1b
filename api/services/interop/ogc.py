"""OGC API – Features, Part 1 Core + GeoJSON: the catalogue of collections and their documents.

Collections: one per area level present (`areas-district` … `areas-grid`), `buildings` and
`incidents` (public fields only). Links are absolute, built from the base URL the request came
in on, so clients behind the same host name follow them unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from psycopg import Connection
from pygeofilter import ast as cql_ast

from api.errors import BadRequest, NotFound
from api.services.interop.ogc_query import (
    ItemsRequest,
    bbox_in,
    output_crs,
    parameter_conditions,
    parse_datetime,
    sortby_keys,
)
from api.services.photos.incident_photos import PHOTO_URL, public_photos
from gis.cql2 import FilterError, parse_filter, to_sql
from gis.ogc import (
    SOURCES,
    Extent,
    FeatureSource,
    ItemQuery,
    collection_exists,
    collection_extents,
    items_page,
)
from gis.ogc import one_item as one_item_doc
from gis.ogc_crs import CRS84, OgcCrs, offered_uris
from web_map.i18n import CHINESE, N_, Translator

MAX_LIMIT = 10_000  # the standard's example maximum; GDAL and QGIS read it from the OpenAPI doc
MAX_OFFSET = 2**31 - 1  # beyond any table here; bigger numbers are refused at the edge (422)

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONF_CRS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
CONF_FILTER = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CONF_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    CONF + "core",
    CONF + "geojson",
    CONF + "html",
    CONF + "oas30",
    CONF_CRS,
    CONF_FILTER + "queryables",
    CONF_FILTER + "queryables-query-parameters",
    CONF_FILTER + "filter",
    CONF_FILTER + "features-filter",
    CONF_CQL2 + "cql2-text",
    CONF_CQL2 + "cql2-json",
    CONF_CQL2 + "basic-cql2",
    CONF_CQL2 + "advanced-comparison-operators",
    CONF_CQL2 + "basic-spatial-functions",
    CONF_CQL2 + "basic-spatial-functions-plus",
]
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
REL_OGC = "http://www.opengis.net/def/rel/ogc/1.0/"

JSON = "application/json"
GEOJSON = "application/geo+json"
JPEG = "image/jpeg"
SCHEMA = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
HTML = "text/html"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's id, what it shows, and where its features come from."""

    id: str
    title: str
    description: str
    source: str
    level: str | None = None


CATALOGUE = [
    CollectionInfo(
        "areas-district",
        N_("Districts"),
        N_("Current district boundaries; feature id = area code."),
        "areas",
        "district",
    ),
    CollectionInfo(
        "areas-street",
        N_("Streets and towns"),
        N_("Current street boundaries; feature id = area code."),
        "areas",
        "street",
    ),
    CollectionInfo(
        "areas-community",
        N_("Communities and villages"),
        N_("Current community boundaries; feature id = area code."),
        "areas",
        "community",
    ),
    CollectionInfo(
        "areas-grid",
        N_("Grids"),
        N_("Current grid boundaries; feature id = area code."),
        "areas",
        "grid",
    ),
    CollectionInfo(
        "buildings", N_("Buildings"), N_("Building footprints with their grid."), "buildings"
    ),
    CollectionInfo(
        "incidents",
        N_("Incidents"),
        N_(
            "Reported problems: category, status, grid and timestamps only (no contact data). "
            "`datetime` filters on the report time."
        ),
        "incidents",
    ),
]
BY_ID = {c.id: c for c in CATALOGUE}
PHOTO_TITLE = N_("Photo ({stage})")


def localised(doc: Any, tr: Translator) -> Any:
    """A metadata document (landing page, collections, a collection) with the words this
    module writes — its, its collections' and its links' `title` and `description`, catalogue
    ids — in `tr`'s language."""
    if isinstance(doc, list):
        return [localised(d, tr) for d in doc]
    if not isinstance(doc, dict):
        return doc
    out = dict(doc)
    for key in ("title", "description"):
        if isinstance(out.get(key), str):
            out[key] = tr(out[key])
    for key in ("links", "collections"):
        if key in out:
            out[key] = localised(out[key], tr)
    return out


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """One link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing_page(base: str, api_url: str, docs_url: str) -> dict[str, Any]:
    """The landing page: where the API description, conformance and collections are."""
    return {
        "title": N_("GridGov OGC API – Features"),
        "description": N_(
            "Governance areas (district > street > community > grid), buildings and "
            "incidents of GridGov, as GeoJSON."
        ),
        "links": [
            link(base, "self", JSON, N_("This document")),
            link(api_url, "service-desc", OPENAPI, N_("The API definition (OpenAPI)")),
            link(docs_url, "service-doc", "text/html", N_("The API documentation")),
            link(f"{base}/conformance", "conformance", JSON, N_("Conformance classes")),
            link(f"{base}/conformance", REL_OGC + "conformance", JSON, N_("Conformance classes")),
            link(f"{base}/collections", "data", JSON, N_("Feature collections")),
            link(f"{base}/collections", REL_OGC + "data", JSON, N_("Feature collections")),
        ],
    }


def conformance() -> dict[str, Any]:
    """The conformance classes implemented."""
    return {"conformsTo": CONFORMANCE}


def _collection(base: str, info: CollectionInfo, extent: Extent) -> dict[str, Any]:
    url = f"{base}/collections/{info.id}"
    doc: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": offered_uris(),
        "storageCrs": CRS84,
        "links": [
            link(url, "self", JSON, N_("This collection")),
            link(url + "?f=html", "alternate", HTML, N_("This collection as HTML")),
            link(f"{url}/items", "items", GEOJSON, N_("Features as GeoJSON")),
            link(f"{url}/items?f=html", "items", HTML, N_("Features as HTML")),
            link(f"{url}/schema", "describedby", SCHEMA, N_("Schema of the features")),
            link(f"{url}/queryables", REL_QUERYABLES, SCHEMA, N_("Properties to filter on")),
        ],
    }
    ext: dict[str, Any] = {}
    if extent.bbox is not None:
        ext["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84}
    if extent.interval is not None:
        ext["temporal"] = {
            "interval": [[_iso(t) for t in extent.interval]],
            "trs": GREGORIAN,
        }
    if ext:
        doc["extent"] = ext
    return doc


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def collections(conn: Connection[Any], base: str) -> dict[str, Any]:
    """All collections present in the data."""
    extents = collection_extents(conn)
    return {
        "links": [link(f"{base}/collections", "self", JSON, N_("This document"))],
        "collections": [_collection(base, c, extents[c.id]) for c in CATALOGUE if c.id in extents],
    }


def _present(conn: Connection[Any], collection_id: str) -> tuple[CollectionInfo, Extent]:
    info = BY_ID.get(collection_id)
    extent = collection_extents(conn).get(collection_id) if info else None
    if info is None or extent is None:
        raise _no_collection(collection_id)
    return info, extent


def _no_collection(collection_id: str) -> NotFound:
    return NotFound(
        f"No collection '{collection_id}'. GET /ogc/collections lists them.",
        {"collection": collection_id},
    )


def collection(conn: Connection[Any], base: str, collection_id: str) -> dict[str, Any]:
    """One collection's description."""
    info, extent = _present(conn, collection_id)
    return _collection(base, info, extent)


def _page_url(url: str, params: dict[str, str], offset: int) -> str:
    query = {k: v for k, v in params.items() if k != "offset"}
    if offset:
        query["offset"] = str(offset)
    return f"{url}?{urlencode(query)}" if query else url


def items(
    conn: Connection[Any],
    base: str,
    collection_id: str,
    ask: ItemsRequest,
    *,
    limit: int,
    offset: int,
    tz: str,
    query: dict[str, str],
    tr: Translator = CHINESE,
) -> tuple[bytes, OgcCrs]:
    """One page of features in the asked CRS; `query` is kept in the paging links (their
    titles in `tr`'s language)."""
    info = BY_ID.get(collection_id)
    if info is None or not collection_exists(conn, collection_id):
        raise _no_collection(collection_id)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.", {"limit": limit})
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}.", {"offset": offset})
    source: FeatureSource = SOURCES[info.source]
    interval = None
    if ask.datetime is not None:
        if source.time_column is None:
            raise BadRequest(f"Collection '{collection_id}' has no time; drop 'datetime'.")
        interval = parse_datetime(ask.datetime, tz)
    crs = output_crs(ask.crs)
    bbox = None if ask.bbox is None else bbox_in(ask.bbox, output_crs(ask.bbox_crs))
    condition = None
    nodes = parameter_conditions(source, query)
    if ask.filter is not None:
        try:
            nodes.append(parse_filter(ask.filter, ask.filter_lang))
        except FilterError as exc:
            raise BadRequest(str(exc), {"filter": ask.filter[:200]}) from exc
    if nodes:
        node = nodes[0]
        for more in nodes[1:]:
            node = cql_ast.And(node, more)
        try:
            condition = to_sql(node, source.queryables, output_crs(ask.filter_crs))
        except FilterError as exc:
            raise BadRequest(str(exc), {"filter": (ask.filter or "")[:200]}) from exc
    url = f"{base}/collections/{collection_id}/items"
    params = {**query, "limit": str(limit)}
    links = [
        link(_page_url(url, params, offset), "self", GEOJSON, tr("This page")),
        link(f"{base}/collections/{collection_id}", "collection", JSON, tr("The collection")),
    ]
    if offset > 0:
        links.append(link(_page_url(url, params, max(0, offset - limit)), "prev", GEOJSON))
    q = ItemQuery(
        level=info.level,
        bbox=bbox,
        interval=interval,
        limit=limit,
        offset=offset,
        crs=crs,
        filter=condition,
        sortby=[] if ask.sortby is None else sortby_keys(ask.sortby, source),
    )
    next_link = link(_page_url(url, params, offset + limit), "next", GEOJSON, tr("Next page"))
    return items_page(conn, source, q, links=links, next_link=next_link), crs


def parameter_schemas() -> dict[str, dict[str, Any]]:
    """Per collection, the queryables usable as query parameters and their JSON Schema."""
    out: dict[str, dict[str, Any]] = {}
    for info in CATALOGUE:
        props = SOURCES[info.source].queryables
        out[info.id] = {
            name: {"type": "string", "format": "date-time"}
            if q.type == "date-time"
            else {"type": q.type}
            for name, q in props.items()
            if q.type != "geometry"
        }
    return out


def parameter_queryables(collection_id: str) -> set[str]:
    """Queryables that may also be sent as query parameters (equality; not the geometry)."""
    info = BY_ID.get(collection_id)
    if info is None:
        return set()
    return {k for k, q in SOURCES[info.source].queryables.items() if q.type != "geometry"}


def queryables(conn: Connection[Any], base: str, collection_id: str) -> dict[str, Any]:
    """Part 3: the properties a filter may name, as JSON Schema."""
    info, _ = _present(conn, collection_id)
    props: dict[str, Any] = {}
    for name, q in SOURCES[info.source].queryables.items():
        if q.type == "geometry":
            props[name] = {"format": f"geometry-{GEOMETRY[info.source].lower()}"}
        elif q.type == "date-time":
            props[name] = {"type": "string", "format": "date-time"}
        else:
            props[name] = {"type": q.type}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection_id}/queryables",
        "type": "object",
        "title": info.title,
        "properties": props,
        "additionalProperties": False,
    }


def item(
    conn: Connection[Any],
    base: str,
    collection_id: str,
    feature_id: str,
    crs: OgcCrs,
    tr: Translator = CHINESE,
) -> bytes:
    """One feature with its links (their titles in `tr`'s language), in `crs`."""
    info, _ = _present(conn, collection_id)
    source = SOURCES[info.source]
    fid: str | int = feature_id
    if source.id_expr == "t.id":  # integer ids: anything else cannot match
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise _no_feature(collection_id, feature_id)
        fid = int(feature_id)
    url = f"{base}/collections/{collection_id}"
    links = [
        link(f"{url}/items/{quote(feature_id, safe='')}", "self", GEOJSON, tr("This feature")),
        link(url, "collection", JSON, tr("The collection")),
    ]
    if info.source == "incidents":  # its public photos (issue 16), as links, never embedded
        root = base.removesuffix("/ogc")
        for photo_id, stage in public_photos(conn, str(fid)):
            title = tr(PHOTO_TITLE, stage=stage)
            links.append(link(f"{root}{PHOTO_URL.format(id=photo_id)}", "enclosure", JPEG, title))
    doc = one_item_doc(conn, source, fid, level=info.level, links=links, crs=crs)
    if doc is None:
        raise _no_feature(collection_id, feature_id)
    return doc


# Property types for JSON Schema (describedby): clients such as GDAL fix their field types from
# it instead of guessing from the first page (where a column may happen to be all null).
_TS = {"type": "string", "format": "date-time"}
_STR = {"type": "string"}
_INT = {"type": "integer"}
PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    "areas": {
        "code": _STR,
        "name": _STR,
        "level": _STR,
        "parent_code": _STR,
        "version_id": _INT,
        "valid_from": _TS,
        "valid_to": _TS,
        "attributes": {"type": "object"},
    },
    "buildings": {
        "name": _STR,
        "address": _STR,
        "households": _INT,
        "grid": _STR,
        "source": _STR,
        "source_id": _STR,
    },
    "incidents": {
        "category": _STR,
        "category_name": _STR,
        "status": _STR,
        "overdue": {"type": "boolean"},
        "grid": _STR,
        "reported_at": _TS,
        "updated_at": _TS,
        "due_at": _TS,
        "closed_at": _TS,
    },
}
GEOMETRY = {"areas": "MultiPolygon", "buildings": "MultiPolygon", "incidents": "Point"}


def schema(conn: Connection[Any], base: str, collection_id: str) -> dict[str, Any]:
    """JSON Schema of a collection's features (a GeoJSON Feature with typed properties)."""
    info, _ = _present(conn, collection_id)
    props = PROPERTIES[info.source]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection_id}/schema",
        "title": info.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": _INT if info.source == "buildings" else _STR,
            "geometry": {
                "format": f"geometry-{GEOMETRY[info.source].lower()}",
                "x-ogc-role": "primary-geometry",
            },
            "properties": {"type": "object", "properties": props},
        },
    }


def _no_feature(collection_id: str, feature_id: str) -> NotFound:
    return NotFound(
        f"No feature '{feature_id}' in collection '{collection_id}'.",
        {"collection": collection_id, "feature": feature_id},
    )
