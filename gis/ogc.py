"""OGC API – Features queries: offset-paged GeoJSON built in SQL, and each collection's extent.

The v1 API pages by keyset (gis/features.py); OGC clients (GDAL, QGIS) expect `offset` and
`numberMatched`, so this module pages by offset over a stable order instead. Every document —
FeatureCollection or Feature, links included — comes out of PostgreSQL as one text value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from gis.cql2 import Queryable
from gis.features import AREA_PRECISION, AREA_PROPS, BBOX_COND, BBox
from gis.ogc_crs import OgcCrs, ogc_crs

# The public view of an incident: no description, reporter, actors or department.
OGC_INCIDENT_PROPS = """
    'category', t.category_code,
    'category_name', (SELECT name FROM categories c WHERE c.code = t.category_code),
    'status', t.status,
    'overdue', t.due_at IS NOT NULL AND t.closed_at IS NULL AND t.due_at < now(),
    'grid', t.grid_code,
    'reported_at', t.reported_at, 'updated_at', t.updated_at,
    'due_at', t.due_at, 'closed_at', t.closed_at
"""

# The building id is the feature id already; repeating it as a property gives GDAL two `id` fields.
OGC_BUILDING_PROPS = """
    'name', t.name, 'address', t.address, 'households', t.households,
    'grid', t.grid_code, 'source', t.source, 'source_id', t.source_id
"""


@dataclass(frozen=True)
class FeatureSource:
    """Where one kind of feature lives and how it becomes GeoJSON (all fixed SQL fragments)."""

    table: str
    props: str
    id_expr: str
    base_cond: str
    order: str
    queryables: dict[str, Queryable]
    time_column: str | None = None
    precision: int = 7  # decimals of served lon/lat coordinates


_GEOM = Queryable("t.geom", "geometry")
_S, _I, _T = "string", "integer", "date-time"


SOURCES = {
    # One collection per level; `level` is a bound parameter.
    "areas": FeatureSource(
        table="areas",
        props=AREA_PROPS,
        id_expr="t.code",
        base_cond="t.valid_to IS NULL AND t.level = %(level)s",
        order="t.code",
        precision=AREA_PRECISION,  # boundaries round-trip (gis.features.AREA_PRECISION)
        queryables={
            "code": Queryable("t.code", _S),
            "name": Queryable("t.name", _S),
            "parent_code": Queryable("t.parent_code", _S),
            "version_id": Queryable("t.id", _I),
            "valid_from": Queryable("t.valid_from", _T),
            "geometry": _GEOM,
        },
    ),
    "buildings": FeatureSource(
        table="buildings",
        props=OGC_BUILDING_PROPS,
        id_expr="t.id",
        base_cond="true",
        order="t.id",
        queryables={
            "name": Queryable("t.name", _S),
            "address": Queryable("t.address", _S),
            "households": Queryable("t.households", _I),
            "grid": Queryable("t.grid_code", _S),
            "source": Queryable("t.source", _S),
            "source_id": Queryable("t.source_id", _S),
            "geometry": _GEOM,
        },
    ),
    "incidents": FeatureSource(
        table="incidents",
        props=OGC_INCIDENT_PROPS,
        id_expr="t.public_id",
        base_cond="true",
        order="t.id",
        queryables={
            "category": Queryable("t.category_code", _S),
            "status": Queryable("t.status", _S),
            "grid": Queryable("t.grid_code", _S),
            "reported_at": Queryable("t.reported_at", _T),
            "updated_at": Queryable("t.updated_at", _T),
            "due_at": Queryable("t.due_at", _T),
            "closed_at": Queryable("t.closed_at", _T),
            "geometry": _GEOM,
        },
        time_column="t.reported_at",
    ),
}

EXTENTS_SQL = """
SELECT 'areas-' || level AS id, level_rank AS rank, ST_XMin(e) AS x0, ST_YMin(e) AS y0,
       ST_XMax(e) AS x1, ST_YMax(e) AS y1, NULL::timestamptz AS t0, NULL::timestamptz AS t1
FROM (SELECT level, level_rank, ST_Extent(geom) AS e FROM areas
      WHERE valid_to IS NULL GROUP BY level, level_rank) a
UNION ALL
SELECT 'buildings', 10, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), NULL, NULL
FROM (SELECT ST_Extent(geom) AS e FROM buildings) b
UNION ALL
SELECT 'incidents', 11, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1
FROM (SELECT ST_Extent(geom) AS e, min(reported_at) AS t0, max(reported_at) AS t1
      FROM incidents) i
ORDER BY rank
"""


@dataclass
class Extent:
    """Spatial (lon/lat) and temporal extent of one collection; None parts when it is empty."""

    bbox: BBox | None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None


def collection_extents(conn: Connection[Any]) -> dict[str, Extent]:
    """Extent of every collection that exists: one per area level present, buildings, incidents."""
    out: dict[str, Extent] = {}
    for r in conn.execute(EXTENTS_SQL).fetchall():
        bbox = None if r["x0"] is None else (r["x0"], r["y0"], r["x1"], r["y1"])
        interval = (r["t0"], r["t1"]) if r["id"] == "incidents" else None
        out[r["id"]] = Extent(bbox=bbox, interval=interval)
    return out


def collection_exists(conn: Connection[Any], collection_id: str) -> bool:
    """Whether a collection is present (as collection_extents would list it), without reading
    every row for its extent: buildings and incidents always are, an area level when it has a
    current area. An items page at 1,000,000 incidents spent 400 ms on the extent."""
    if not collection_id.startswith("areas-"):
        return collection_id in ("buildings", "incidents")
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM areas WHERE valid_to IS NULL AND level = %s) AS present",
        (collection_id.removeprefix("areas-"),),
    ).fetchone()
    return bool(row and row["present"])


# Matches counted per page at most (numberMatched left out above): counting 1,000,000 incidents
# took 100 ms of every page's 130-270 ms (docs/performance.md, 2026-12-05).
COUNT_CAP = 100_000


@dataclass
class ItemQuery:
    """Filters of an items request: bbox, time interval (open ends are None), paging."""

    level: str | None = None
    bbox: BBox | None = None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None
    limit: int = 10
    offset: int = 0
    crs: OgcCrs = field(default_factory=lambda: ogc_crs(None))
    filter: tuple[sql.Composable, dict[str, Any]] | None = None  # CQL2 as SQL (gis/cql2)
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (queryable, descending)


def _where(source: FeatureSource, q: ItemQuery) -> tuple[sql.Composable, dict[str, Any]]:
    conds: list[sql.Composable] = [sql.SQL(source.base_cond)]
    params: dict[str, Any] = {"level": q.level}
    if q.bbox is not None:
        conds.append(sql.SQL(BBOX_COND.format(alias="t")))
        params.update(zip(("x0", "y0", "x1", "y1"), q.bbox, strict=True))
    if q.interval is not None and source.time_column:
        column = sql.SQL(source.time_column)
        start, end = q.interval
        if start is not None:
            conds.append(sql.SQL("{} >= %(t0)s").format(column))
            params["t0"] = start
        if end is not None:
            conds.append(sql.SQL("{} <= %(t1)s").format(column))
            params["t1"] = end
    if q.filter is not None:
        condition, filter_params = q.filter
        conds.append(condition)
        params.update(filter_params)
    return sql.SQL(" AND ").join(conds), params


def _order(source: FeatureSource, q: ItemQuery) -> sql.Composable:
    """`sortby` keys, then the collection's own order so pages never overlap or skip."""
    keys = [
        sql.SQL("{} {}").format(
            sql.SQL(source.queryables[name].expr), sql.SQL("DESC" if desc else "ASC")
        )
        for name, desc in q.sortby
    ]
    return sql.SQL(", ").join([*keys, sql.SQL(source.order)])


def items_page(
    conn: Connection[Any],
    source: FeatureSource,
    q: ItemQuery,
    *,
    links: list[dict[str, str]],
    next_link: dict[str, str],
    precision: int | None = None,
    count_cap: int = COUNT_CAP,
) -> bytes:
    """One page of a collection as a FeatureCollection; `next_link` is added when more follow.
    `numberMatched` only when at most `count_cap` features match."""
    where, params = _where(source, q)
    # The count and the page are separate scans on purpose: a CTE shared by both would be
    # materialised with every matched geometry just to be counted.
    query = sql.SQL(
        """
        SELECT (jsonb_build_object(
            'type', 'FeatureCollection',
            'timeStamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'numberMatched', m.n,
            'numberReturned', p.n,
            'links', %(links)s::jsonb || CASE WHEN %(offset)s + p.n < m.n
                                                   OR (m.n > %(cap)s AND p.n = %(limit)s)
                                             THEN jsonb_build_array(%(next)s::jsonb)
                                             ELSE '[]'::jsonb END,
            'features', p.features
        ) - CASE WHEN m.n > %(cap)s THEN 'numberMatched' ELSE '' END)::text AS doc
        -- counted up to the cap only: past it numberMatched (optional in OGC API – Features)
        -- is left out rather than counting a million rows for every page
        FROM (SELECT count(*) AS n FROM (
                SELECT 1 FROM {table} t WHERE {where} LIMIT %(cap)s + 1) c) m,
        (SELECT count(*) AS n,
                coalesce(jsonb_agg(jsonb_build_object(
                    'type', 'Feature',
                    'id', {id_expr},
                    'geometry', {geometry},
                    'properties', jsonb_build_object({props})) ORDER BY {order}), '[]'::jsonb)
                    AS features
         FROM (SELECT o.* FROM {table} o JOIN LATERAL (
                   -- the offset is walked over ids only (an index-only scan when nothing
                   -- else is filtered), and only the page's rows are read whole: offset
                   -- 420,000 of 1,000,000 incidents 528 → 18 ms (docs/performance.md)
                   SELECT t.id FROM {table} t WHERE {where}
                   ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) k ON o.id = k.id) t) p
        """
    ).format(
        table=sql.Identifier(source.table),
        where=where,
        id_expr=sql.SQL(source.id_expr),
        props=sql.SQL(source.props),
        order=_order(source, q),
        geometry=_geometry(q.crs, precision, source),
    )
    params.update(
        links=Jsonb(links),
        next=Jsonb(next_link),
        limit=q.limit,
        offset=q.offset,
        cap=count_cap,
    )
    # Planned for the actual limit and offset: a generic plan takes the LIMIT for a tenth of the
    # table and joins the page back by a hash over a sequential scan (0.9 s at 1,000,000). For
    # this transaction only.
    conn.execute("SET LOCAL plan_cache_mode = auto")
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return str(row["doc"]).encode()


def one_item(
    conn: Connection[Any],
    source: FeatureSource,
    feature_id: str | int,
    *,
    level: str | None,
    links: list[dict[str, str]],
    crs: OgcCrs | None = None,
    precision: int | None = None,
) -> bytes | None:
    """One feature as GeoJSON with its links, or None when the collection has no such id."""
    query = sql.SQL(
        """
        SELECT jsonb_build_object(
            'type', 'Feature',
            'id', {id_expr},
            'geometry', {geometry},
            'properties', jsonb_build_object({props}),
            'links', %(links)s::jsonb
        )::text AS doc
        FROM {table} t WHERE {base} AND {id_expr} = %(fid)s
        """
    ).format(
        table=sql.Identifier(source.table),
        base=sql.SQL(source.base_cond),
        id_expr=sql.SQL(source.id_expr),
        props=sql.SQL(source.props),
        geometry=_geometry(crs or ogc_crs(None), precision, source),
    )
    params = {"level": level, "fid": feature_id, "links": Jsonb(links)}
    row = conn.execute(query, params).fetchone()
    return None if row is None else str(row["doc"]).encode()


def _geometry(crs: OgcCrs, precision: int | None, source: FeatureSource) -> sql.Composable:
    """The GeoJSON geometry in `crs`: degrees at the source's precision (areas keep enough
    decimals to be saved back unchanged), metres at the CRS's own, unless one is given."""
    if precision is None and crs.srid in (4326, 4490):
        precision = source.precision
    return crs.geometry() if precision is None else replace(crs, precision=precision).geometry()
