"""Server-side sessions of the pages (cookie holds a random id; the table holds its hash)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Table, Text, func

from api.db.models import metadata

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", Text, primary_key=True, comment="sha256 hex of the cookie value"),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sessions_user_id", "user_id"),
)
