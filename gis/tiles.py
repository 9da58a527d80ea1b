"""Mapbox vector tiles made by PostGIS: one SQL statement per tile (ST_AsMVT over ST_AsMVTGeom).

Layers: `areas` (every level, or one with `level`), `grids`, `buildings`, `incidents`. Columns are
EPSG:4326; tiles are Web Mercator (EPSG:3857) XYZ. Each tile holds at most `max_features`
features per layer and reports when it was cut (`truncated`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection, sql

from gis.features import Filters

BBox = tuple[float, float, float, float]

EXTENT = 4096  # MVT units across a tile
BUFFER = 64  # units drawn beyond each edge, so strokes meet seamlessly at tile borders
MARGIN = BUFFER / EXTENT  # the same buffer as a fraction of the tile, for ST_TileEnvelope
SIMPLIFY_UNITS = 2.0  # simplify to 2 MVT units: an eighth of a pixel on a 256 px tile
WORLD_M = 40075016.68557849  # the Web Mercator square's side, metres
MERCATOR_MAX_LAT = 85.0511287798066
TS = "String"


@dataclass(frozen=True)
class TileLayer:
    """A tile layer: its table, fixed SQL fragments, and the attributes it carries."""

    name: str
    table: str
    attrs: tuple[tuple[str, str], ...]  # (SQL expression over `t`, attribute name)
    where: str
    order: str
    points: bool = False
    by_level: bool = False  # accepts ?level=
    expires: str = "NULL::timestamptz"  # when the content goes stale by itself
    fields: dict[str, str] = field(default_factory=dict)  # TileJSON: attribute → type


AREA_ATTRS = (
    ("t.code", "code"),
    ("t.name", "name"),
    ("t.level", "level"),
    ("t.parent_code", "parent_code"),
)
AREA_FIELDS = {"code": TS, "name": TS, "level": TS, "parent_code": TS}

LAYERS = {
    "areas": TileLayer(
        name="areas",
        table="areas",
        attrs=AREA_ATTRS,
        where="t.valid_to IS NULL",
        order="t.level_rank, t.code",  # when capped, the upper levels are kept
        by_level=True,
        fields=AREA_FIELDS,
    ),
    "grids": TileLayer(
        name="grids",
        table="areas",
        attrs=AREA_ATTRS,
        where="t.valid_to IS NULL AND t.level = 'grid'",
        order="t.code",
        fields=AREA_FIELDS,
    ),
    "buildings": TileLayer(
        name="buildings",
        table="buildings",
        attrs=(("t.id", "id"), ("t.name", "name"), ("t.households", "households")),
        where="true",
        order="t.id",
        fields={"id": "Number", "name": TS, "households": "Number"},
    ),
    "incidents": TileLayer(
        name="incidents",
        table="incidents",
        attrs=(
            ("t.public_id", "id"),
            ("t.category_code", "category"),
            ("t.status", "status"),
            ("t.due_at IS NOT NULL AND t.closed_at IS NULL AND t.due_at < now()", "overdue"),
            ("t.grid_code", "grid"),
        ),
        where="true",
        order="t.reported_at DESC, t.id DESC",  # when capped, the newest are kept
        points=True,
        # `overdue` flips when the clock passes due_at, with no write to announce it
        expires="CASE WHEN t.closed_at IS NULL AND t.due_at > now() THEN t.due_at END",
        fields={"id": TS, "category": TS, "status": TS, "overdue": "Boolean", "grid": TS},
    ),
}

TILE_SQL = """
WITH
-- ST_AsMVTGeom wants the tile in the tiles' CRS (Web Mercator).
tile AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc),
-- The filter box is the tile grown by the buffer, transformed once to the column's SRID (4326) so
-- that `t.geom && box` is answered by the GiST index; transforming every row's geom to 3857 in
-- the WHERE would force a sequential scan. Mercator is cylindrical (x depends on lon only, y on
-- lat only), so the rectangle's four corners give exactly the same lon/lat rectangle.
box AS (SELECT ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS g),
-- The cap is applied to this cheap index probe, before any geometry is transformed or clipped;
-- MATERIALIZED keeps the planner from pushing the heavy expressions below the LIMIT.
-- One row over the cap tells the caller the tile was cut.
picked AS MATERIALIZED (
    SELECT {attrs}, {expires} AS expires_at, {geom} AS geom
    FROM {table} t, box
    WHERE t.geom && box.g AND {where}
    ORDER BY {order}
    LIMIT %(cap)s + 1
),
-- MATERIALIZED again: inlined, the `geom IS NOT NULL` test below would be pushed into this
-- query and ST_AsMVTGeom computed twice per feature.
feats AS MATERIALIZED (
    SELECT {names},
           -- Simplify in metres by zoom (a fraction of an MVT unit: invisible, but it saves
           -- clipping work on big boundaries at low zoom); ST_AsMVTGeom then clips to the
           -- buffered tile, snaps to the 4096 grid and keeps polygons valid.
           ST_AsMVTGeom({simplified}, tile.merc, %(extent)s, %(buffer)s, true) AS geom
    FROM (SELECT * FROM picked LIMIT %(cap)s) p, tile
)
SELECT
    (SELECT ST_AsMVT(f.*, %(layer)s, %(extent)s, 'geom') FROM feats f WHERE f.geom IS NOT NULL)
        AS mvt,
    (SELECT count(*) FROM picked) > %(cap)s AS truncated,
    (SELECT extract(epoch FROM min(expires_at)) FROM picked) AS expires_at
"""


@dataclass
class Tile:
    """One rendered tile: MVT bytes (empty when nothing is there), whether it was capped."""

    data: bytes
    truncated: bool
    expires_at: float | None


def _where(layer: TileLayer, level: str | None, extra: Filters | None = None) -> sql.Composable:
    conds = [layer.where]
    if layer.by_level and level is not None:
        conds.append("t.level = %(level)s")
    if extra is not None:
        conds.extend(extra.conds)
    return sql.SQL(" AND ").join(sql.SQL(c) for c in conds)


def render_tile(
    conn: Connection[Any],
    layer: TileLayer,
    z: int,
    x: int,
    y: int,
    *,
    level: str | None = None,
    max_features: int = 10_000,
    extra: Filters | None = None,
) -> Tile:
    """Render one tile of a layer in a single round trip; `extra`: more conditions over `t`."""
    where = _where(layer, level, extra)
    if layer.points:
        # A custom plan per tile: the pool's forced generic plan cannot know how much of the
        # table the tile covers and always probes the GiST index then sorts every point in the
        # tile (a city-wide z10 tile at 1,000,000 incidents: 7.3 s); planned for the actual
        # box, a wide tile walks the reported_at index newest first and stops at the cap
        # (37 ms), a street-level one keeps the GiST probe. For this transaction only.
        conn.execute("SET LOCAL plan_cache_mode = auto")
        geom = sql.SQL("t.geom")
        simplified = sql.SQL("ST_Transform(p.geom, 3857)")
    else:
        # Clipping to the filter box first (cheap, in 4326) means a district's whole outline is
        # not transformed and simplified for every street-level tile it covers.
        geom = sql.SQL("ST_ClipByBox2D(t.geom, box.g)")
        simplified = sql.SQL("ST_Simplify(ST_Transform(p.geom, 3857), %(tolerance)s, true)")
    names = [sql.Identifier(name) for _, name in layer.attrs]
    query = sql.SQL(TILE_SQL).format(
        attrs=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.SQL(expr), sql.Identifier(name))
            for expr, name in layer.attrs
        ),
        names=sql.SQL(", ").join(sql.SQL("p.{}").format(n) for n in names),
        expires=sql.SQL(layer.expires),
        geom=geom,
        simplified=simplified,
        table=sql.Identifier(layer.table),
        where=where,
        order=sql.SQL(layer.order),
    )
    params = {
        **(extra.params if extra is not None else {}),
        "z": z,
        "x": x,
        "y": y,
        "margin": MARGIN,
        "cap": max_features,
        "extent": EXTENT,
        "buffer": BUFFER,
        "layer": layer.name,
        "level": level,
        "tolerance": SIMPLIFY_UNITS * WORLD_M / (2**z) / EXTENT,
    }
    row = conn.execute(query, params).fetchone()
    assert row is not None
    expires = row["expires_at"]
    return Tile(
        data=bytes(row["mvt"] or b""),
        truncated=bool(row["truncated"]),
        expires_at=None if expires is None else float(expires),
    )


def tile_bbox(z: int, x: int, y: int, margin: float = MARGIN) -> BBox:
    """The lon/lat box a tile's content depends on: the tile grown by `margin` tile widths."""
    n = 2**z

    def lon(tx: float) -> float:
        return min(max(tx / n * 360.0 - 180.0, -180.0), 180.0)

    def lat(ty: float) -> float:
        ty = min(max(ty, 0.0), float(n))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    # a hair wider than PostGIS's own box, so float rounding can only over-invalidate
    eps = 1e-9
    return (
        lon(x - margin) - eps,
        lat(y + 1 + margin) - eps,
        lon(x + 1 + margin) + eps,
        lat(y - margin) + eps,
    )


def layer_bounds(conn: Connection[Any], layer: TileLayer, level: str | None = None) -> BBox | None:
    """Lon/lat extent of what a layer shows, or None when it is empty."""
    where = _where(layer, level)
    query = sql.SQL(
        "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 "
        "FROM (SELECT ST_Extent(t.geom) AS e FROM {table} t WHERE {where}) s"
    ).format(table=sql.Identifier(layer.table), where=where)
    row = conn.execute(query, {"level": level}).fetchone()
    if row is None or row["x0"] is None:
        return None
    return row["x0"], row["y0"], row["x1"], row["y1"]
