"""Page sessions and password hashes."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import TS, col, create_index, drop_index, fk, now_column, pk

revision = "0006"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("users", col("password_hash", sa.Text(), "argon2id; NULL = no page login"))
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.Text(), nullable=False, comment="sha256 hex of the cookie value"),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        now_column("created_at"),
        now_column("last_seen_at"),
        sa.Column("expires_at", TS, nullable=False),
        fk("sessions", "user_id", "users.id", ondelete="CASCADE"),
        pk("sessions", "id_hash"),
    )
    create_index("sessions", "user_id")


def downgrade() -> None:
    drop_index("sessions", "user_id")
    op.drop_table("sessions")
    op.drop_column("users", "password_hash")
