"""The outbox for administrators: delivery state over HTTP, subscribers and test messages."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from api.db.models_notify import CHANNELS, SCOPES
from api.errors import Forbidden, invalid_value
from api.services.boundaries.store import is_current
from api.services.identity.auth import User
from api.services.paging import page_of
from api.services.reference import unknown_codes

LIST_SQL = """
SELECT n.id, n.delivery_id::text AS delivery_id, i.public_id AS incident, n.event_id, n.rule,
       n.channel, n.subscriber_id, s.name AS subscriber, n.payload ->> 'action' AS action,
       n.payload ->> 'kind' AS kind, n.state, n.attempts, n.next_attempt_at, n.last_error,
       n.created_at, n.sent_at
FROM notifications n
LEFT JOIN incidents i ON i.id = n.incident_id
LEFT JOIN notify_subscribers s ON s.id = n.subscriber_id
WHERE {where}
ORDER BY n.id DESC
LIMIT %(limit)s
"""


def list_notifications(
    conn: Connection[Any],
    user: User,
    *,
    state: str | None,
    incident: str | None,
    limit: int,
    cursor: int | None,
) -> dict[str, Any]:
    """Newest first, keyset-paged by id; admins only (addresses are personal data)."""
    if user.role != "admin":
        raise Forbidden("The notification outbox is for administrators.")
    conds: list[sql.Composable] = [sql.SQL("true")]
    if state is not None:
        conds.append(sql.SQL("n.state = %(state)s"))
    if incident is not None:
        conds.append(sql.SQL("i.public_id = %(incident)s"))
    if cursor is not None:
        conds.append(sql.SQL("n.id < %(cursor)s"))
    query = sql.SQL(LIST_SQL).format(where=sql.SQL(" AND ").join(conds))
    rows = conn.execute(
        query, {"state": state, "incident": incident, "cursor": cursor, "limit": limit + 1}
    ).fetchall()
    page, next_cursor = page_of(rows, limit)
    return {
        "notifications": [dict(r) for r in page],
        "numberReturned": len(page),
        "next_cursor": next_cursor,
    }


def add_subscriber(
    conn: Connection[Any],
    *,
    name: str,
    scope: str,
    code: str | None,
    channel: str,
    address: str,
    secret: str | None,
) -> int:
    """Register who is told on which channel; returns the subscriber id."""
    if scope not in SCOPES:
        raise invalid_value("scope", "one of " + ", ".join(SCOPES))
    if channel not in CHANNELS:
        raise invalid_value("channel", "one of " + ", ".join(CHANNELS))
    if (scope == "sms") != (code is None):
        raise invalid_value(
            "code", "no code for the SMS gateway; a department or area code otherwise"
        )
    if scope == "sms" and channel != "webhook":
        raise invalid_value("channel", "an SMS gateway is reached by webhook")
    if channel == "webhook":
        if not address.lower().startswith(("http://", "https://")):
            raise invalid_value("address", "a webhook is an http(s) URL")
        if not secret or len(secret) < 16:
            raise invalid_value("secret", "a webhook needs a secret of at least 16 characters")
    else:
        secret = None
        if "@" not in address:
            raise invalid_value("address", "an e-mail address")
    if code is not None and (  # no code: the SMS gateway
        unknown_codes(conn, "departments", [code])
        if scope == "department"
        else not is_current(conn, code)
    ):
        raise invalid_value(
            "code", f"no {'department' if scope == 'department' else 'area'} '{code}'"
        )
    row = conn.execute(
        "INSERT INTO notify_subscribers (name, scope, code, channel, address, secret) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (name, scope, code, channel, address, secret),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def queue_test(
    conn: Connection[Any], channel: str, address: str | None, subscriber_id: int | None
) -> list[str]:
    """Queue a test message to one address or to a subscriber; returns the delivery ids."""
    if channel not in CHANNELS:
        raise invalid_value("channel", "one of " + ", ".join(CHANNELS))
    if subscriber_id is not None:
        sub = conn.execute(
            "SELECT id, channel, address FROM notify_subscribers WHERE id = %s", (subscriber_id,)
        ).fetchone()
        if sub is None or sub["channel"] != channel:
            raise invalid_value("subscriber", f"no {channel} subscriber {subscriber_id}")
        address = sub["address"]
    elif address is None or channel == "webhook":
        raise invalid_value(
            "to", "an e-mail address (webhooks: name a subscriber, it holds the secret)"
        )
    delivery = str(uuid.uuid4())  # each test is a new message
    conn.execute(
        "INSERT INTO notifications (delivery_id, rule, channel, subscriber_id, address, payload) "
        "VALUES (%s, 'test', %s, %s, %s, %s)",
        (delivery, channel, subscriber_id, address, Jsonb({"kind": "test", "rule": "test"})),
    )
    return [delivery]


def outbox_backlog(pool: ConnectionPool[Any]) -> int:
    """Deliveries still to be sent (pending, including those waiting for a retry)."""
    with pool.connection(timeout=2) as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM notifications WHERE state = 'pending'"
        ).fetchone()
        return int(row["n"]) if row else 0
