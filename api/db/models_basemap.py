"""The base map's own tables (migration 0026_basemap), filled from OpenStreetMap by
`gridgov basemap import` and read by the base map renderer; nothing else writes them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from api.db.models import _geom, metadata

# (table, geometry type): roads and railways as lines, water both ways, the rest as drawn.
BASEMAP_TABLES = (
    ("basemap_roads", "LINESTRING"),
    ("basemap_railways", "LINESTRING"),
    ("basemap_waterways", "LINESTRING"),
    ("basemap_water", "MULTIPOLYGON"),
    ("basemap_landuse", "MULTIPOLYGON"),
    ("basemap_buildings", "MULTIPOLYGON"),
    ("basemap_places", "POINT"),
    ("basemap_pois", "POINT"),
)


def _feature_table(name: str, kind: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("osm_id", BigInteger, nullable=False, comment="way/node id; relations negative"),
        Column("class", Text, nullable=False, comment="the OSM tag value it is drawn by"),
        Column("name", Text, comment="name:zh when tagged, else name"),
        Column("geom", _geom(kind), nullable=False),
        Index(f"ix_{name}_geom", "geom", postgresql_using="gist"),
    )


basemap_features = {name: _feature_table(name, kind) for name, kind in BASEMAP_TABLES}

basemap_imports = Table(
    "basemap_imports",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("source", Text, nullable=False, comment="file name imported"),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("counts", JSONB, nullable=False, comment="rows per table"),
    Column("bounds", JSONB, comment="[x0, y0, x1, y1] of what was loaded"),
)
