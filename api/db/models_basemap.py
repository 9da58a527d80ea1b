"""The base map's own tables (migration 0026_basemap), filled from OpenStreetMap by
`gridgov basemap import` and read by the base map renderer; nothing else writes them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Double, Identity, Index, Table, Text, func
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

# The walking graph (migration 0029_walking): streets cut where ways share a node (gis/walking.py).
basemap_walk_edges = Table(
    "basemap_walk_edges",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("source", BigInteger, nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("length_m", Double, nullable=False),
    Column("geom", _geom("LINESTRING"), nullable=False),
    Index("ix_basemap_walk_edges_geom", "geom", postgresql_using="gist"),
    comment="streets cut where ways share a node: the walking graph (gis/walking.py)",
)
