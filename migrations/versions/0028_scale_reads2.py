"""Repeat locations at a million incidents: closed incidents that have a building, by closing time.

`GET /api/v1/repeats` (level building, the default) groups the incidents closed in the window by
building. Through `ix_incidents_closed_at` it read every closed incident of the window (≈ 250,000
rows for 90 days at 1,000,000 a year) to keep those with a building; this partial index holds only
those (docs/performance.md, 2026-12-05 afternoon).
"""

from alembic import op

from migrations.ddl import create_partial_index

revision = "0028_scale_reads2"
down_revision = "0027_scale_reads"


def upgrade() -> None:
    create_partial_index(
        "ix_incidents_closed_building",
        "incidents",
        ["closed_at"],
        "status = 'closed' AND building_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_closed_building", table_name="incidents")
