"""Partial GiST index on grid parts: grid-only lookups skip district/street/community parts."""

from alembic import op

revision = "0008"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_area_parts_grid_geom ON area_parts USING gist (geom) WHERE level_rank = 4"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_area_parts_grid_geom")
