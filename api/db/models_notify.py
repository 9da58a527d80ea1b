"""Notifications: subscribers (who is told, on which channel) and the outbox of deliveries.

An outbox row is written in the transaction of the event that causes it
(api.services.notifications.rules)
and delivered by the worker (api.services.notifications.worker); `delivery_id` is derived from the
event and the recipient, so a row can be written at most once and receivers can drop repeats.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from api.db.models import _in, id_column, incident_column, metadata, now_column

SCOPES = ("department", "dispatchers", "officers", "sms")
CHANNELS = ("email", "webhook")
RULES = ("reporter", "department", "dispatcher", "officer", "test")
STATES = ("pending", "sent", "dead")


# A department's inbox, an area's dispatchers or officers, or the SMS gateway that texts
# reporters who left a phone number; each on e-mail or a signed webhook.
notify_subscribers = sa.Table(
    "notify_subscribers",
    metadata,
    id_column(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column(
        "code", sa.Text, comment="department code (department) or area code (dispatchers, officers)"
    ),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False, comment="e-mail address or webhook URL"),
    sa.Column("secret", sa.Text, comment="webhook HMAC-SHA256 key"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    now_column("created_at"),
    sa.CheckConstraint(_in("scope", SCOPES), name="scope"),
    sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
    sa.CheckConstraint("(scope = 'sms') = (code IS NULL)", name="code"),
    sa.CheckConstraint("(channel = 'webhook') = (secret IS NOT NULL)", name="secret"),
    sa.CheckConstraint("scope <> 'sms' OR channel = 'webhook'", name="sms_webhook"),
    sa.Index("ix_notify_subscribers_scope_code", "scope", "code"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    id_column(),
    sa.Column("delivery_id", UUID(as_uuid=False), nullable=False, unique=True),
    sa.Column("event_id", sa.BigInteger, sa.ForeignKey("incident_events.id")),
    incident_column(),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column(
        "subscriber_id", sa.BigInteger, sa.ForeignKey("notify_subscribers.id", ondelete="SET NULL")
    ),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("state", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    now_column("next_attempt_at"),
    sa.Column("last_error", sa.Text),
    now_column("created_at"),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(_in("rule", RULES), name="rule"),
    sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
    sa.CheckConstraint(_in("state", STATES), name="state"),
    sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent"),
    # The worker's queue: only what is still to be sent, in order of its next try.
    sa.Index(
        "ix_notifications_next_attempt_at_pending",
        "next_attempt_at",
        postgresql_where=sa.text("state = 'pending'"),
    ),
    sa.Index("ix_notifications_incident_id", "incident_id"),
    sa.Index("ix_notifications_event_id", "event_id"),
)
