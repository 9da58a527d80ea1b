"""Server-side sessions of the pages (cookie holds a random id; the table holds its hash)."""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import metadata, now_column

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.Text, primary_key=True, comment="sha256 hex of the cookie value"),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf_token", sa.Text, nullable=False),
    now_column("created_at"),
    now_column("last_seen_at"),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_sessions_user_id", "user_id"),
)
