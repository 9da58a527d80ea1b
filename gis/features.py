"""GeoJSON FeatureCollections built in SQL (ST_AsGeoJSON + jsonb), one page per call.

Each list is keyset-paged on its integer id (ascending; incidents may ask for newest first):
`cursor` is the last id of the previous page, and the collection carries `next_cursor` when more
rows follow (one row more than the page is read to know it). Filters are composed from fixed SQL
fragments; every value is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from psycopg import Connection, sql

from gis.errors import UnknownCRS
from gis.places import PLACE_SQL

BBox = tuple[float, float, float, float]

# The envelope is built once in the parameter's SRID (4326, same as the columns) so the GiST index
# on geom answers the && test.
BBOX_COND = "{alias}.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"

INCIDENT_BASE_PROPS = """
    'id', t.public_id, 'status', t.status, 'category', t.category_code,
    'category_name', (SELECT name FROM categories c WHERE c.code = t.category_code),
    'grid', t.grid_code, 'community', t.community_code, 'street', t.street_code,
    'district', t.district_code, 'department', t.department_code, 'method', t.method,
    'reported_at', t.reported_at, 'updated_at', t.updated_at, 'due_at', t.due_at,
    'overdue', t.due_at IS NOT NULL AND t.closed_at IS NULL AND t.due_at < now(),
    'is_demo', t.is_demo"""
# + `place`: where it is in words (gis/places.py); fixed fragments, no input in them
INCIDENT_PROPS = INCIDENT_BASE_PROPS + ", 'place', " + PLACE_SQL

AREA_PROPS = """
    'code', t.code, 'name', t.name, 'level', t.level, 'parent_code', t.parent_code,
    'version_id', t.id, 'valid_from', t.valid_from, 'valid_to', t.valid_to,
    'attributes', t.attributes
"""

AREA_HISTORY_PROPS = (
    AREA_PROPS + ", 'created_by', t.created_by, 'note', t.note, 'imported', t.imported,"
    " 'derived_from', t.derived_from"
)

# Boundaries are served with 15 decimals, enough to give back every stored double (a double near
# 116 degrees has a spacing of 1.4e-14): a boundary read from any door and saved back unchanged
# is bit for bit the stored one, so its shared edges stay shared (7 decimals moved vertices by up
# to 5 mm and made overlaps of several m² with every neighbour).
AREA_PRECISION = 15
# The public history: who saved a version is for staff only (issue 15).
AREA_PUBLIC_HISTORY_PROPS = (
    AREA_PROPS + ", 'created_by', NULL, 'note', t.note, 'imported', t.imported,"
    " 'derived_from', t.derived_from"
)

# The version of an area valid at a moment: periods are [valid_from, valid_to).
AREA_VALID_AT = "t.valid_from <= %(at)s AND (t.valid_to IS NULL OR t.valid_to > %(at)s)"

BUILDING_PROPS = """
    'id', t.id, 'name', t.name, 'address', t.address, 'households', t.households,
    'grid', t.grid_code, 'source', t.source, 'source_id', t.source_id
"""


@dataclass
class Filters:
    """Conditions (fixed SQL fragments) and their bound values."""

    conds: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, fragment: str, **params: Any) -> None:
        """AND one more condition."""
        self.conds.append(fragment)
        self.params.update(params)

    def add_given(self, fragment: str, **param: Any) -> None:
        """AND a condition on one optional value, only when it is given (not None nor empty)."""
        ((_, value),) = param.items()
        if value:
            self.add(fragment, **param)

    def bbox(self, bbox: BBox | None) -> None:
        """Keep features whose geometry's box meets the bbox."""
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            self.add(BBOX_COND.format(alias="t"), x0=x0, y0=y0, x1=x1, y1=y1)


# Each table's feature id and the decimals of its served coordinates (areas: AREA_PRECISION).
_FEATURE_ID_AND_PRECISION = {
    "incidents": ("t.public_id", 7),
    "areas": ("t.code", AREA_PRECISION),
    "buildings": ("t.id", 7),
}


def _collection(
    conn: Connection[Any],
    table: Literal["incidents", "areas", "buildings"],
    props: str,
    filters: Filters,
    limit: int,
    cursor: int | None,
    srid: int = 4326,
    newest_first: bool = False,
) -> bytes:
    id_prop, precision = _FEATURE_ID_AND_PRECISION[table]
    geom, crs_member = _output_crs(conn, srid)
    if cursor is not None:
        filters.add("t.id < %(cursor)s" if newest_first else "t.id > %(cursor)s", cursor=cursor)
    order = sql.SQL("t.id DESC" if newest_first else "t.id")
    where = (
        sql.SQL(" AND ").join(sql.SQL(c) for c in filters.conds)
        if filters.conds
        else sql.SQL("true")
    )
    # One row more than the page, so that `next_cursor` says whether there is a next page (a
    # full last page used to get a cursor to an empty one: an extra request, and the dispatch
    # console took exactly GRIDGOV_INCIDENT_MARKERS matches for more)
    query = sql.SQL(
        """
        WITH page AS (
            SELECT t.*, row_number() OVER (ORDER BY {order}) AS page_row
            FROM (
                SELECT t.* FROM {table} t WHERE {where} ORDER BY {order} LIMIT %(limit)s + 1
            ) t
        )
        SELECT jsonb_build_object(
            'type', 'FeatureCollection',{crs_member}
            'features', coalesce(jsonb_agg(jsonb_build_object(
                'type', 'Feature',
                'id', {id_prop},
                'geometry', {geom}::jsonb,
                'properties', jsonb_build_object({props})) ORDER BY {order})
                FILTER (WHERE t.page_row <= %(limit)s), '[]'::jsonb),
            'numberReturned', count(*) FILTER (WHERE t.page_row <= %(limit)s),
            'next_cursor', CASE WHEN count(*) > %(limit)s
                THEN ({last} FILTER (WHERE t.page_row <= %(limit)s))::text END
        )::text AS doc
        FROM page t
        """
    ).format(
        table=sql.SQL(table),
        where=where,
        props=sql.SQL(props),
        id_prop=sql.SQL(id_prop),
        geom=geom,
        crs_member=crs_member,
        order=order,
        last=sql.SQL("min(t.id)" if newest_first else "max(t.id)"),
    )
    params = {**filters.params, "limit": limit, "precision": precision, "srid": srid}
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return str(row["doc"]).encode()


def _output_crs(conn: Connection[Any], srid: int) -> tuple[sql.SQL, sql.SQL]:
    """SQL for the output geometry and the collection's `crs` member (none for EPSG:4326).

    The transform is in the SELECT only: filters keep testing the stored EPSG:4326 column, so its
    GiST index still answers them. A non-4326 collection names its CRS the GeoJSON 2008 way, a
    deliberate departure from RFC 7946 made only when a client asks for another CRS.
    """
    if srid == 4326:
        return sql.SQL("ST_AsGeoJSON(t.geom, %(precision)s)"), sql.SQL("")
    known = conn.execute(
        "SELECT 1 FROM spatial_ref_sys WHERE srid = %s AND auth_name = 'EPSG' AND auth_srid = %s",
        (srid, srid),
    ).fetchone()
    if known is None:
        raise UnknownCRS(
            f"EPSG:{srid} is not in this database's spatial_ref_sys, so PostGIS cannot convert "
            "to it; ask for another coordinate system or add it to spatial_ref_sys.",
            {"crs": f"EPSG:{srid}"},
        )
    # options 0: no per-geometry "crs" member (PostGIS adds one for SRIDs other than 4326)
    return (
        sql.SQL("ST_AsGeoJSON(ST_Transform(t.geom, %(srid)s), %(precision)s, 0)"),
        sql.SQL(
            " 'crs', jsonb_build_object('type', 'name', 'properties', "
            "jsonb_build_object('name', 'urn:ogc:def:crs:EPSG::' || %(srid)s::int)),"
        ),
    )


@dataclass(frozen=True)
class IncidentFilter:
    """What a dispatcher narrows incidents to; shared by the GeoJSON list and the vector tiles."""

    statuses: tuple[str, ...] = ()
    grid: str | None = None
    department: str | None = None
    since: dt.datetime | None = None
    overdue: bool | None = None
    category: str | None = None  # a code prefix: "SJ", a major class "SJ01" or "SJ0102"
    area: str | None = None  # any level

    def apply(self, f: Filters) -> None:
        """AND this filter's conditions (over alias `t`) to `f`."""
        f.add_given("t.status = ANY(%(statuses)s)", statuses=list(self.statuses))
        f.add_given("t.grid_code = %(grid)s", grid=self.grid)
        f.add_given("t.department_code = %(department)s", department=self.department)
        f.add_given("t.updated_at >= %(since)s", since=self.since)
        if self.overdue is not None:  # same test as the `overdue` property (INCIDENT_PROPS)
            late = "(t.due_at IS NOT NULL AND t.closed_at IS NULL AND t.due_at < now())"
            f.add(late if self.overdue else f"NOT {late}")
        f.add_given("starts_with(t.category_code, %(category)s)", category=self.category)
        if self.area:  # the stored grid/community/street/district or the responsible area
            f.add(
                "%(area)s IN (t.grid_code, t.community_code, t.street_code, t.district_code, "
                "t.responsible_area_code)",
                area=self.area,
            )

    def key(self) -> str:
        """A canonical text of the filter (cache keys); empty when nothing is filtered."""
        parts = {
            "status": ",".join(sorted(self.statuses)),
            "grid": self.grid,
            "department": self.department,
            "since": self.since.isoformat() if self.since else None,
            "overdue": None if self.overdue is None else str(self.overdue).lower(),
            "category": self.category,
            "area": self.area,
        }
        return "&".join(f"{k}={v}" for k, v in parts.items() if v)


def incidents_geojson(
    conn: Connection[Any],
    *,
    bbox: BBox | None = None,
    where: IncidentFilter | None = None,
    reporter_user_id: int | None = None,
    limit: int = 100,
    cursor: int | None = None,
    newest_first: bool = False,
    srid: int = 4326,
    scope: tuple[str, dict[str, Any]] | None = None,
) -> bytes:
    """Incidents as a FeatureCollection (no contact data); `scope`: the caller's policy filter."""
    f = Filters()
    f.bbox(bbox)
    if scope is not None:  # a fixed fragment from api.services.identity.policy, with its bound
        # values
        f.add(scope[0], **scope[1])
    if where is not None:
        where.apply(f)
    if reporter_user_id is not None:
        f.add("t.reporter_user_id = %(reporter)s", reporter=reporter_user_id)
    if f.conds:
        # Planned for the actual values: a generic plan (the pool's default) guesses a third of
        # the table for `since` or a bbox and walks the primary key filtering every row, which
        # reads nearly the whole table when ids follow time (a week's changes are the last
        # ids); planned for the values, the updated_at or GiST index answers when it is the
        # cheaper way. ~1 ms of planning. For this transaction only.
        conn.execute("SET LOCAL plan_cache_mode = auto")
    return _collection(
        conn, "incidents", INCIDENT_PROPS, f, limit, cursor, srid=srid, newest_first=newest_first
    )


def areas_geojson(
    conn: Connection[Any],
    *,
    bbox: BBox | None = None,
    level: str | None = None,
    parent: str | None = None,
    code: str | None = None,
    at: dt.datetime | None = None,
    limit: int = 100,
    cursor: int | None = None,
    srid: int = 4326,
) -> bytes:
    """Current areas (or those valid `at` a moment) as a FeatureCollection; id is the code."""
    f = Filters()
    if at is None:
        f.add("t.valid_to IS NULL")
    else:
        f.add(AREA_VALID_AT, at=at)
    f.bbox(bbox)
    f.add_given("t.level = %(level)s", level=level)
    f.add_given("t.parent_code = %(parent)s", parent=parent)
    f.add_given("t.code = %(code)s", code=code)
    return _collection(conn, "areas", AREA_PROPS, f, limit, cursor, srid=srid)


def area_versions_geojson(
    conn: Connection[Any],
    *,
    code: str | None = None,
    version_ids: list[int] | None = None,
    codes: list[str] | None = None,
    limit: int = 100,
    cursor: int | None = None,
    with_users: bool = True,
) -> bytes:
    """Area versions, oldest first, with who saved them (unless not `with_users`) and why."""
    f = Filters()
    if code is not None:
        f.add("t.code = %(code)s", code=code)
    if codes is not None:
        f.add("t.code = ANY(%(codes)s)", codes=codes)
    if version_ids is not None:
        f.add("t.id = ANY(%(ids)s)", ids=version_ids)
    props = AREA_HISTORY_PROPS if with_users else AREA_PUBLIC_HISTORY_PROPS
    return _collection(conn, "areas", props, f, limit, cursor)


def buildings_geojson(
    conn: Connection[Any],
    *,
    bbox: BBox | None = None,
    grid: str | None = None,
    limit: int = 100,
    cursor: int | None = None,
    srid: int = 4326,
) -> bytes:
    """Building footprints as a FeatureCollection."""
    f = Filters()
    f.bbox(bbox)
    f.add_given("t.grid_code = %(grid)s", grid=grid)
    return _collection(conn, "buildings", BUILDING_PROPS, f, limit, cursor, srid=srid)
