"""Notifications: subscribers and the outbox of deliveries.

Revision ID: 0025_notify
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025_notify"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_subscribers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column(
            "code",
            sa.Text(),
            nullable=True,
            comment="department code (department) or area code (dispatchers, officers)",
        ),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False, comment="e-mail address or webhook URL"),
        sa.Column("secret", sa.Text(), nullable=True, comment="webhook HMAC-SHA256 key"),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "scope IN ('department', 'dispatchers', 'officers', 'sms')",
            name=op.f("ck_notify_subscribers_scope"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_notify_subscribers_channel")
        ),
        sa.CheckConstraint(
            "(scope = 'sms') = (code IS NULL)", name=op.f("ck_notify_subscribers_code")
        ),
        sa.CheckConstraint(
            "(channel = 'webhook') = (secret IS NOT NULL)",
            name=op.f("ck_notify_subscribers_secret"),
        ),
        sa.CheckConstraint(
            "scope <> 'sms' OR channel = 'webhook'", name=op.f("ck_notify_subscribers_sms_webhook")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_subscribers")),
    )
    op.create_index(
        "ix_notify_subscribers_scope_code", "notify_subscribers", ["scope", "code"], unique=False
    )
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
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "rule IN ('reporter', 'department', 'dispatcher', 'officer', 'test')",
            name=op.f("ck_notifications_rule"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_notifications_channel")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'dead')", name=op.f("ck_notifications_state")
        ),
        sa.CheckConstraint(
            "(state = 'sent') = (sent_at IS NOT NULL)", name=op.f("ck_notifications_sent")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["incident_events.id"],
            name=op.f("fk_notifications_event_id_incident_events"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_notifications_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["notify_subscribers.id"],
            name=op.f("fk_notifications_subscriber_id_notify_subscribers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_notifications_delivery_id")),
    )
    op.create_index(
        "ix_notifications_next_attempt_at_pending",
        "notifications",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_notifications_incident_id", "notifications", ["incident_id"])
    op.create_index("ix_notifications_event_id", "notifications", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_event_id", table_name="notifications")
    op.drop_index("ix_notifications_incident_id", table_name="notifications")
    op.drop_index(
        "ix_notifications_next_attempt_at_pending",
        table_name="notifications",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_table("notifications")
    op.drop_index("ix_notify_subscribers_scope_code", table_name="notify_subscribers")
    op.drop_table("notify_subscribers")
