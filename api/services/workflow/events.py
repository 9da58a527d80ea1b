"""Appending to the incident event log, and telling listeners (LISTEN/NOTIFY) about it.

Callers run this inside the transaction that changes the incident, so the event, the change and
the notification commit together (PostgreSQL delivers a NOTIFY only on commit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb

from api.responses import dumps
from api.services.notifications.rules import queue_for_event

CHANNEL = "gridgov_incidents"

APPEND_SQL = """
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                             department_code, note, data)
VALUES (%(incident_id)s, %(at)s, %(actor)s, %(action)s, %(from_status)s, %(to_status)s,
        %(department)s, %(note)s, %(data)s)
RETURNING id
"""


def _json(value: Any) -> str:
    return dumps(value).decode()  # orjson: datetimes as RFC 3339, like every API response


def append_event(
    conn: Connection[Any],
    *,
    incident_id: int,
    public_id: str,
    at: dt.datetime,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    department: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one event, queue its notifications; returns the event id (the SSE id)."""
    row = conn.execute(
        APPEND_SQL,
        {
            "incident_id": incident_id,
            "at": at,
            "actor": actor,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "department": department,
            "note": note,
            "data": Jsonb(data or {}, dumps=_json),
        },
        prepare=True,
    ).fetchone()
    assert row is not None
    event_id = int(row["id"])
    # Payload well under NOTIFY's 8000-byte limit: listeners read the event itself from the table.
    payload = {"event_id": event_id, "incident": public_id, "action": action, "status": to_status}
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, dumps(payload).decode()))
    # The outbox (e-mail, webhooks) commits with the event or not at all.
    queue_for_event(
        conn,
        event_id=event_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        department=department,
        data=data or {},
    )
    return event_id


def append_aside(
    conn: Connection[Any],
    incident: Mapping[str, Any],
    action: str,
    *,
    at: dt.datetime,
    actor: str,
    department: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """`append_event` for an event that leaves the incident (a row with its `id`, `public_id` and
    `status`) in its status: a whistle, a check-in, a withdrawn whistle, a hidden photo."""
    return append_event(
        conn,
        incident_id=incident["id"],
        public_id=incident["public_id"],
        at=at,
        actor=actor,
        action=action,
        from_status=incident["status"],
        to_status=incident["status"],
        department=department,
        note=note,
        data=data,
    )
