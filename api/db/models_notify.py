"""Notifications: subscribers (who is told, on which channel) and the outbox of deliveries.

An outbox row is written in the transaction of the event that causes it
(api.services.notifications.rules)
and delivered by the worker (api.services.notifications.worker); `delivery_id` is derived from the
event and the recipient, so a row can be written at most once and receivers can drop repeats.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from api.db.models import metadata

SCOPES = ("department", "dispatchers", "officers", "sms")
CHANNELS = ("email", "webhook")
RULES = ("reporter", "department", "dispatcher", "officer", "test")
STATES = ("pending", "sent", "dead")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A department's inbox, an area's dispatchers or officers, or the SMS gateway that texts
# reporters who left a phone number; each on e-mail or a signed webhook.
notify_subscribers = Table(
    "notify_subscribers",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column(
        "code", Text, comment="department code (department) or area code (dispatchers, officers)"
    ),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False, comment="e-mail address or webhook URL"),
    Column("secret", Text, comment="webhook HMAC-SHA256 key"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_in("scope", SCOPES), name="scope"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint("(scope = 'sms') = (code IS NULL)", name="code"),
    CheckConstraint("(channel = 'webhook') = (secret IS NOT NULL)", name="secret"),
    CheckConstraint("scope <> 'sms' OR channel = 'webhook'", name="sms_webhook"),
    Index("ix_notify_subscribers_scope_code", "scope", "code"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("delivery_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("event_id", BigInteger, ForeignKey("incident_events.id")),
    Column("incident_id", BigInteger, ForeignKey("incidents.id")),
    Column("rule", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("subscriber_id", BigInteger, ForeignKey("notify_subscribers.id", ondelete="SET NULL")),
    Column("address", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    CheckConstraint(_in("rule", RULES), name="rule"),
    CheckConstraint(_in("channel", CHANNELS), name="channel"),
    CheckConstraint(_in("state", STATES), name="state"),
    CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent"),
    # The worker's queue: only what is still to be sent, in order of its next try.
    Index(
        "ix_notifications_next_attempt_at_pending",
        "next_attempt_at",
        postgresql_where=text("state = 'pending'"),
    ),
    Index("ix_notifications_incident_id", "incident_id"),
    Index("ix_notifications_event_id", "event_id"),
)
