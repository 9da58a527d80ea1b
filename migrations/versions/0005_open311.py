"""Open311: incidents keep the answers to their category's attribute questions.

Revision ID: 0005_open311
Revises: 0001
Create Date: 2026-11-25 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_open311"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The default fills existing rows, so this runs forward on a populated database.
    op.add_column(
        "incidents",
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="answers to the category's attributes (Open311 attribute[code])",
        ),
    )


def downgrade() -> None:
    op.drop_column("incidents", "attributes")
