"""Notifications: subscribers and the outbox of deliveries."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.ddl import (
    JSONB,
    TS,
    checks,
    col,
    create_index,
    create_partial_index,
    drop_index,
    fk,
    now_column,
    pk,
)

revision = "0025_notify"
down_revision = "0001"

SUBSCRIBER_CODE = "department code (department) or area code (dispatchers, officers)"


def upgrade() -> None:
    op.create_table(
        "notify_subscribers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        col("code", sa.Text(), SUBSCRIBER_CODE),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False, comment="e-mail address or webhook URL"),
        sa.Column("secret", sa.Text(), nullable=True, comment="webhook HMAC-SHA256 key"),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        now_column("created_at"),
        *checks(
            "notify_subscribers",
            scope="scope IN ('department', 'dispatchers', 'officers', 'sms')",
            channel="channel IN ('email', 'webhook')",
            code="(scope = 'sms') = (code IS NULL)",
            secret="(channel = 'webhook') = (secret IS NOT NULL)",
            sms_webhook="scope <> 'sms' OR channel = 'webhook'",
        ),
        pk("notify_subscribers", "id"),
    )
    create_index("notify_subscribers", "scope", "code")
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        now_column("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        now_column("created_at"),
        sa.Column("sent_at", TS, nullable=True),
        *checks(
            "notifications",
            rule="rule IN ('reporter', 'department', 'dispatcher', 'officer', 'test')",
            channel="channel IN ('email', 'webhook')",
            state="state IN ('pending', 'sent', 'dead')",
            sent="(state = 'sent') = (sent_at IS NOT NULL)",
        ),
        fk("notifications", "event_id", "incident_events.id"),
        fk("notifications", "incident_id", "incidents.id"),
        fk("notifications", "subscriber_id", "notify_subscribers.id", ondelete="SET NULL"),
        pk("notifications", "id"),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_notifications_delivery_id")),
    )
    create_partial_index(
        "ix_notifications_next_attempt_at_pending",
        "notifications",
        ["next_attempt_at"],
        "state = 'pending'",
    )
    create_index("notifications", "incident_id")
    create_index("notifications", "event_id")


def downgrade() -> None:
    drop_index("notifications", "event_id")
    drop_index("notifications", "incident_id")
    op.drop_index("ix_notifications_next_attempt_at_pending", table_name="notifications")
    op.drop_table("notifications")
    drop_index("notify_subscribers", "scope", "code")
    op.drop_table("notify_subscribers")
