"""Reads at a million incidents: an index on incidents.updated_at (the `since` filter).

`GET /api/v1/incidents?since=…` (the dispatch console's "changed since" and sync clients) had no
index to answer `updated_at >= since`: its plan walked the primary key and filtered every row
until the page was full (docs/performance.md, 2026-12-05).
"""

from migrations.ddl import create_index, drop_index

revision = "0027_scale_reads"
down_revision = "0001"


def upgrade() -> None:
    create_index("incidents", "updated_at")


def downgrade() -> None:
    drop_index("incidents", "updated_at")
