"""The base map's tables, filled from OpenStreetMap by `gridgov basemap import`."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import (
    JSONB,
    col,
    create_geometry_index,
    drop_geometry_index,
    geometry_column,
    now_column,
    pk,
)

revision = "0026_basemap"
down_revision = "0001"

# A frozen copy of api/db/models_basemap.BASEMAP_TABLES, on purpose: this revision keeps creating
# these eight tables whatever the models say later.
TABLES = (
    ("basemap_roads", "LINESTRING"),
    ("basemap_railways", "LINESTRING"),
    ("basemap_waterways", "LINESTRING"),
    ("basemap_water", "MULTIPOLYGON"),
    ("basemap_landuse", "MULTIPOLYGON"),
    ("basemap_buildings", "MULTIPOLYGON"),
    ("basemap_places", "POINT"),
    ("basemap_pois", "POINT"),
)


def upgrade() -> None:
    for name, kind in TABLES:
        op.create_table(
            name,
            sa.Column("id", sa.BigInteger(), nullable=False),
            col("osm_id", sa.BigInteger(), "way/node id; relations negative", nullable=False),
            col("class", sa.Text(), "the OSM tag value it is drawn by", nullable=False),
            sa.Column("name", sa.Text(), nullable=True, comment="name:zh when tagged, else name"),
            geometry_column(kind),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )
        create_geometry_index(name)
    op.create_table(
        "basemap_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="file name imported"),
        now_column("imported_at"),
        col("counts", JSONB, "rows per table", nullable=False),
        col("bounds", JSONB, "[x0, y0, x1, y1] of what was loaded"),
        pk("basemap_imports", "id"),
    )


def downgrade() -> None:
    op.drop_table("basemap_imports")
    for name, _ in reversed(TABLES):
        drop_geometry_index(name)
        op.drop_table(name)
