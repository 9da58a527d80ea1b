"""Partial GiST index on grid parts: grid-only lookups skip district/street/community parts.

Revision ID: 0008
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_area_parts_grid_geom ON area_parts USING gist (geom) WHERE level_rank = 4"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_area_parts_grid_geom")
