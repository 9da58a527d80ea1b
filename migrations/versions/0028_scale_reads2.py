"""Repeat locations at a million incidents: closed incidents that have a building, by closing time.

`GET /api/v1/repeats` (level building, the default) groups the incidents closed in the window by
building. Through `ix_incidents_closed_at` it read every closed incident of the window (≈ 250,000
rows for 90 days at 1,000,000 a year) to keep those with a building; this partial index holds only
those (docs/performance.md, 2026-12-05 afternoon).

Revision ID: 0028_scale_reads2
Revises: 0027_scale_reads
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_scale_reads2"
down_revision: str | None = "0027_scale_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_incidents_closed_building",
        "incidents",
        ["closed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'closed' AND building_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_closed_building", table_name="incidents")
