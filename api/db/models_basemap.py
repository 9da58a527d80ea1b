"""The base map's own tables (migration 0026_basemap), filled from OpenStreetMap by
`gridgov basemap import` and read by the base map renderer; nothing else writes them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from api.db.models import _geom, id_column, metadata, now_column

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


def _feature_table(name: str, kind: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        id_column(),
        sa.Column(
            "osm_id", sa.BigInteger, nullable=False, comment="way/node id; relations negative"
        ),
        sa.Column("class", sa.Text, nullable=False, comment="the OSM tag value it is drawn by"),
        sa.Column("name", sa.Text, comment="name:zh when tagged, else name"),
        sa.Column("geom", _geom(kind), nullable=False),
        sa.Index(f"ix_{name}_geom", "geom", postgresql_using="gist"),
    )


basemap_features = {name: _feature_table(name, kind) for name, kind in BASEMAP_TABLES}

basemap_imports = sa.Table(
    "basemap_imports",
    metadata,
    id_column(),
    sa.Column("source", sa.Text, nullable=False, comment="file name imported"),
    now_column("imported_at"),
    sa.Column("counts", JSONB, nullable=False, comment="rows per table"),
    sa.Column("bounds", JSONB, comment="[x0, y0, x1, y1] of what was loaded"),
)

# The walking graph (migration 0029_walking): streets cut where ways share a node (gis/walking.py).
basemap_walk_edges = sa.Table(
    "basemap_walk_edges",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("source", sa.BigInteger, nullable=False),
    sa.Column("target", sa.BigInteger, nullable=False),
    sa.Column("length_m", sa.Double, nullable=False),
    sa.Column("geom", _geom("LINESTRING"), nullable=False),
    sa.Index("ix_basemap_walk_edges_geom", "geom", postgresql_using="gist"),
    comment="streets cut where ways share a node: the walking graph (gis/walking.py)",
)
