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
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.errors import BadRequest, NotFound
from api.services.photos import PHOTO_URL, public_photos
from gis.features import BBox
from gis.ogc import SOURCES, Extent, FeatureSource, ItemQuery, collection_extents, items_page
from gis.ogc import one_item as one_item_doc

MAX_LIMIT = 10_000  # the standard's example maximum; GDAL and QGIS read it from the OpenAPI doc

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMANCE = [CONF + "core", CONF + "geojson"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
REL_OGC = "http://www.opengis.net/def/rel/ogc/1.0/"

JSON = "application/json"
GEOJSON = "application/geo+json"
JPEG = "image/jpeg"
SCHEMA = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"


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
        "Districts (区/县)",
        "Current district boundaries; feature id = area code.",
        "areas",
        "district",
    ),
    CollectionInfo(
        "areas-street",
        "Streets and towns (街道/乡镇)",
        "Current street boundaries; feature id = area code.",
        "areas",
        "street",
    ),
    CollectionInfo(
        "areas-community",
        "Communities (社区/村)",
        "Current community boundaries; feature id = area code.",
        "areas",
        "community",
    ),
    CollectionInfo(
        "areas-grid",
        "Grids (网格)",
        "Current grid boundaries; feature id = area code.",
        "areas",
        "grid",
    ),
    CollectionInfo(
        "buildings", "Buildings (楼栋)", "Building footprints with their grid.", "buildings"
    ),
    CollectionInfo(
        "incidents",
        "Incidents (事件)",
        "Reported problems: category, status, grid and timestamps only (no contact data). "
        "`datetime` filters on the report time.",
        "incidents",
    ),
]
BY_ID = {c.id: c for c in CATALOGUE}


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """One link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing_page(base: str, api_url: str, docs_url: str) -> dict[str, Any]:
    """The landing page: where the API description, conformance and collections are."""
    return {
        "title": "GridGov OGC API – Features",
        "description": "Governance areas (district > street > community > grid), buildings and "
        "incidents of GridGov, as GeoJSON.",
        "links": [
            link(base, "self", JSON, "This document"),
            link(api_url, "service-desc", OPENAPI, "The API definition (OpenAPI)"),
            link(docs_url, "service-doc", "text/html", "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/conformance", REL_OGC + "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "Feature collections"),
            link(f"{base}/collections", REL_OGC + "data", JSON, "Feature collections"),
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
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            link(url, "self", JSON, "This collection"),
            link(f"{url}/items", "items", GEOJSON, "Features as GeoJSON"),
            link(f"{url}/schema", "describedby", SCHEMA, "Schema of the features"),
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
        "links": [link(f"{base}/collections", "self", JSON, "This document")],
        "collections": [_collection(base, c, extents[c.id]) for c in CATALOGUE if c.id in extents],
    }


def _present(conn: Connection[Any], collection_id: str) -> tuple[CollectionInfo, Extent]:
    info = BY_ID.get(collection_id)
    extent = collection_extents(conn).get(collection_id) if info else None
    if info is None or extent is None:
        raise NotFound(
            f"No collection '{collection_id}'. GET /ogc/collections lists them.",
            {"collection": collection_id},
        )
    return info, extent


def collection(conn: Connection[Any], base: str, collection_id: str) -> dict[str, Any]:
    """One collection's description."""
    info, extent = _present(conn, collection_id)
    return _collection(base, info, extent)


def parse_datetime(text: str, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An RFC 3339 instant or interval (`a/b`, `../b`, `a/..`); a date means that whole day."""
    zone = ZoneInfo(tz)
    if "/" not in text:
        return _instant(text, zone)
    if text.count("/") != 1:
        raise BadRequest("datetime must be an instant or one interval 'start/end'.")
    a, b = text.split("/")
    start: dt.datetime | None = None if a in ("", "..") else _instant(a, zone)[0]
    end: dt.datetime | None = None if b in ("", "..") else _instant(b, zone)[1]
    if start is not None and end is not None and start > end:
        raise BadRequest("datetime interval must not end before it starts.")
    return start, end


def _instant(text: str, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """(first, last) moment a date-time or date stands for; no offset means UTC."""
    value = text.strip()
    try:
        if "T" in value.upper() or " " in value:
            t = dt.datetime.fromisoformat(value)
            t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
            return t, t
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(
            f"datetime '{text}' is not RFC 3339, e.g. 2026-11-25T08:00:00Z, 2026-11-25, "
            "or an interval 2026-11-01T00:00:00Z/.."
        ) from exc
    first = dt.datetime.combine(day, dt.time(), zone)
    return first, first + dt.timedelta(days=1) - dt.timedelta(microseconds=1)


def _page_url(url: str, params: dict[str, str], offset: int) -> str:
    query = {k: v for k, v in params.items() if k != "offset"}
    if offset:
        query["offset"] = str(offset)
    return f"{url}?{urlencode(query)}" if query else url


def items(
    conn: Connection[Any],
    base: str,
    collection_id: str,
    *,
    bbox: BBox | None,
    datetime: str | None,
    limit: int,
    offset: int,
    tz: str,
    query: dict[str, str],
) -> bytes:
    """One page of features; `query` is the request's own parameters, kept in paging links."""
    info, _ = _present(conn, collection_id)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.", {"limit": limit})
    if offset < 0:
        raise BadRequest("offset must be 0 or more.", {"offset": offset})
    source: FeatureSource = SOURCES[info.source]
    interval = None
    if datetime is not None:
        if source.time_column is None:
            raise BadRequest(f"Collection '{collection_id}' has no time; drop 'datetime'.")
        interval = parse_datetime(datetime, tz)
    url = f"{base}/collections/{collection_id}/items"
    params = {**query, "limit": str(limit)}
    links = [
        link(_page_url(url, params, offset), "self", GEOJSON, "This page"),
        link(f"{base}/collections/{collection_id}", "collection", JSON, "The collection"),
    ]
    if offset > 0:
        links.append(link(_page_url(url, params, max(0, offset - limit)), "prev", GEOJSON))
    q = ItemQuery(level=info.level, bbox=bbox, interval=interval, limit=limit, offset=offset)
    next_link = link(_page_url(url, params, offset + limit), "next", GEOJSON, "Next page")
    return items_page(conn, source, q, links=links, next_link=next_link)


def item(conn: Connection[Any], base: str, collection_id: str, feature_id: str) -> bytes:
    """One feature with its links."""
    info, _ = _present(conn, collection_id)
    source = SOURCES[info.source]
    fid: str | int = feature_id
    if source.id_expr == "t.id":  # integer ids: anything else cannot match
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise _no_feature(collection_id, feature_id)
        fid = int(feature_id)
    url = f"{base}/collections/{collection_id}"
    links = [
        link(f"{url}/items/{quote(feature_id, safe='')}", "self", GEOJSON, "This feature"),
        link(url, "collection", JSON, "The collection"),
    ]
    if info.source == "incidents":  # its public photos (issue 16), as links, never embedded
        root = base.removesuffix("/ogc")
        for photo_id, stage in public_photos(conn, str(fid)):
            title = f"照片 Photo ({stage})"
            links.append(link(f"{root}{PHOTO_URL.format(id=photo_id)}", "enclosure", JPEG, title))
    doc = one_item_doc(conn, source, fid, level=info.level, links=links)
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
