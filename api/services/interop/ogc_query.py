"""What an OGC items request asks for, parsed and checked: time, CRS, bbox, sortby, parameters.

The collection catalogue and the documents are in api/services/interop/ogc.py; this module turns the
request's strings into the typed query gis/ogc.py runs, refusing what cannot be served (400).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pygeofilter import ast as cql_ast

from api.dates import check_year
from api.errors import BadRequest
from gis.errors import UnknownCRS
from gis.features import BBox
from gis.ogc import FeatureSource
from gis.ogc_crs import OgcCrs, bbox_to_crs84, offered_uris, ogc_crs


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
            check_year(t)
            t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
            return t, t
        day = dt.date.fromisoformat(value)
        check_year(day)
    except ValueError as exc:
        raise BadRequest(
            f"datetime '{text}' is not RFC 3339, e.g. 2026-11-25T08:00:00Z, 2026-11-25, "
            "or an interval 2026-11-01T00:00:00Z/.."
        ) from exc
    first = dt.datetime.combine(day, dt.time(), zone)
    return first, first + dt.timedelta(days=1) - dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class ItemsRequest:
    """What an items request asks for, as sent (strings are parsed and checked here)."""

    bbox: str | None = None
    bbox_crs: str | None = None
    datetime: str | None = None
    crs: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    sortby: str | None = None


def output_crs(uri: str | None) -> OgcCrs:
    """The CRS asked for with `crs` (CRS84 when absent); 400 when it is not offered."""
    try:
        return ogc_crs(uri)
    except UnknownCRS as exc:
        raise BadRequest(exc.message, {"crs": uri, "offered": offered_uris()}) from exc


def bbox_in(text: str, crs: OgcCrs) -> BBox:
    """`bbox` in `bbox-crs` (CRS84 by default) as a lon/lat box."""
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as exc:
        raise BadRequest("bbox must be four numbers separated by commas.") from exc
    if len(parts) == 6:  # 3D boxes: the heights do not matter here
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise BadRequest("bbox must be four finite numbers: lower corner, then upper corner.")
    box = bbox_to_crs84((parts[0], parts[1], parts[2], parts[3]), crs)
    x0, y0, x1, y1 = box
    if crs.srid == 4326 and not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise BadRequest("bbox must be minLon,minLat,maxLon,maxLat within -180..180, -90..90.")
    return box


def sortby_keys(text: str, source: FeatureSource) -> list[tuple[str, bool]]:
    """`sortby=name,-households` → [(name, False), (households, True)], sortables only."""
    keys = []
    for raw in text.split(","):
        item = raw.strip()
        desc = item.startswith("-")
        name = item.lstrip("+-").strip()
        prop = source.queryables.get(name)
        if prop is None or prop.type == "geometry":
            sortable = sorted(k for k, q in source.queryables.items() if q.type != "geometry")
            raise BadRequest(
                f"Cannot sort by '{name}'. Sortable: {', '.join(sortable)}.",
                {"sortby": text, "sortable": sortable},
            )
        keys.append((name, desc))
    return keys


def parameter_conditions(source: FeatureSource, query: dict[str, str]) -> list[Any]:
    """`?status=closed` as the CQL2 condition `status = 'closed'` (values typed per queryable)."""
    nodes: list[Any] = []
    for name, text in query.items():
        prop = source.queryables.get(name)
        if prop is None or prop.type == "geometry":
            continue
        nodes.append(cql_ast.Equal(cql_ast.Attribute(name), _typed(name, text, prop.type)))
    return nodes


def _typed(name: str, text: str, kind: str) -> Any:
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "date-time":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"'{name}' must be a {kind}.", {name: text}) from exc
    return text
