"""The base map's tables, filled from OpenStreetMap by `gridgov basemap import`.

Revision ID: 0026_basemap
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0026_basemap"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
            sa.Column(
                "osm_id", sa.BigInteger(), nullable=False, comment="way/node id; relations negative"
            ),
            sa.Column(
                "class", sa.Text(), nullable=False, comment="the OSM tag value it is drawn by"
            ),
            sa.Column("name", sa.Text(), nullable=True, comment="name:zh when tagged, else name"),
            sa.Column(
                "geom",
                Geometry(
                    geometry_type=kind,
                    srid=4326,
                    dimension=2,
                    spatial_index=False,
                    from_text="ST_GeomFromEWKT",
                    name="geometry",
                    nullable=False,
                ),
                nullable=False,
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )
        op.create_geospatial_index(
            f"ix_{name}_geom",
            name,
            ["geom"],
            unique=False,
            postgresql_using="gist",
            postgresql_ops={},
        )
    op.create_table(
        "basemap_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="file name imported"),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="rows per table",
        ),
        sa.Column(
            "bounds",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="[x0, y0, x1, y1] of what was loaded",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basemap_imports")),
    )


def downgrade() -> None:
    op.drop_table("basemap_imports")
    for name, _ in reversed(TABLES):
        op.drop_geospatial_index(
            f"ix_{name}_geom", table_name=name, postgresql_using="gist", column_name="geom"
        )
        op.drop_table(name)
