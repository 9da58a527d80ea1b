"""Who is told what: outbox rows for an event (in its transaction) and for cases falling due.

`queue_for_event` is called by `append_event`, the one place workflow actions, whistles and
check-ins write their events, so a notification commits with its event or not at all. Rules:
the reporter on each public status change (with a contact and consent); a department when
dispatched, supporting, whistled or urged; an area's dispatchers when a case is escalated to it,
falls due (`queue_due`, run by the worker) or comes back rated 不满意; a grid's officers when a
case needs verifying.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

# Actions whose status change the reporter sees (return and escalate are internal moves).
REPORTER_ACTIONS = frozenset(
    {"register", "dispatch", "accept", "handle", "self_handle", "verify", "reject", "suspend"}
    | {"reopen", "review"}
)
# Notes the reporter may read; the same set the Open311 view shows (api.open311.requests).
REPORTER_NOTE_ACTIONS = ["reject", "handle", "self_handle", "verify", "suspend", "reopen"]

QUEUE_EVENT_SQL = """
WITH ev AS (
    SELECT e.id AS event_id, e.incident_id, e.action, e.to_status, e.at, e.note, e.data,
           i.public_id, i.reporter, i.grid_code, i.responsible_area_code
    FROM incident_events e JOIN incidents i ON i.id = e.incident_id
    WHERE e.id = %(event_id)s
), targets AS (
    SELECT * FROM unnest(%(rules)s::text[], %(scopes)s::text[], %(codes)s::text[])
        AS t(rule, scope, code)
    UNION ALL
    SELECT 'officer', 'officers', ev.grid_code FROM ev
    WHERE %(officers)s AND ev.grid_code IS NOT NULL
    UNION ALL
    SELECT 'dispatcher', 'dispatchers', ev.responsible_area_code FROM ev WHERE %(review)s
), recipients AS (
    SELECT t.rule, s.channel, s.id AS subscriber_id, s.address, NULL::text AS phone
    FROM targets t JOIN notify_subscribers s
      ON s.scope = t.scope AND s.code = t.code AND s.active
    UNION ALL
    SELECT 'reporter', 'email', NULL, ev.reporter ->> 'email', NULL FROM ev
    WHERE %(reporter)s AND (ev.reporter ->> 'notify')::boolean IS TRUE
      AND coalesce(ev.reporter ->> 'email', '') <> ''
    UNION ALL
    -- A phone number is texted through each SMS gateway subscribed (a webhook).
    SELECT 'reporter', s.channel, s.id, s.address, ev.reporter ->> 'phone'
    FROM ev JOIN notify_subscribers s ON s.scope = 'sms' AND s.active
    WHERE %(reporter)s AND (ev.reporter ->> 'notify')::boolean IS TRUE
      AND coalesce(ev.reporter ->> 'phone', '') <> ''
)
INSERT INTO notifications (delivery_id, event_id, incident_id, rule, channel, subscriber_id,
                           address, payload, next_attempt_at)
SELECT md5(concat_ws(':', 'event', ev.event_id, r.rule, r.channel, r.subscriber_id,
                     r.address))::uuid,
       ev.event_id, ev.incident_id, r.rule, r.channel, r.subscriber_id, r.address,
       jsonb_strip_nulls(jsonb_build_object(
           'kind', 'event', 'rule', r.rule, 'incident', ev.public_id, 'action', ev.action,
           'status', ev.to_status, 'at', ev.at, 'to', r.phone,
           -- The reporter reads only the public part: a rejection's reason and original.
           'note', CASE WHEN r.rule <> 'reporter' OR ev.action = ANY(%(public_notes)s)
                        THEN ev.note END,
           'data', CASE WHEN r.rule <> 'reporter' THEN ev.data
                        ELSE jsonb_strip_nulls(jsonb_build_object(
                            'reason', ev.data -> 'reason',
                            'duplicate_of', ev.data -> 'duplicate_of',
                            'passed', ev.data -> 'passed')) END)),
       ev.at
FROM recipients r CROSS JOIN ev
ON CONFLICT (delivery_id) DO NOTHING
"""

# Open cases that fell due recently and whose area's dispatchers have not been told yet.
# The partial index ix_incidents_due_at_open (closed_at IS NULL AND due_at IS NOT NULL) holds
# exactly the candidates; NOT EXISTS probes the unique delivery_id index, so each round reads
# only what is new and the LIMIT cannot starve later cases behind already-told ones.
QUEUE_DUE_SQL = """
WITH due AS (
    SELECT i.id, i.public_id, i.due_at, i.status, s.id AS subscriber_id, s.channel, s.address,
           md5(concat_ws(':', 'due', i.id, extract(epoch FROM i.due_at), s.id))::uuid AS did
    FROM incidents i
    JOIN notify_subscribers s
      ON s.scope = 'dispatchers' AND s.code = i.responsible_area_code AND s.active
    WHERE i.closed_at IS NULL AND i.due_at IS NOT NULL
      AND i.due_at <= %(now)s AND i.due_at > %(since)s
)
INSERT INTO notifications (delivery_id, incident_id, rule, channel, subscriber_id, address,
                           payload, next_attempt_at)
SELECT d.did, d.id, 'dispatcher', d.channel, d.subscriber_id, d.address,
       jsonb_build_object('kind', 'due', 'rule', 'dispatcher', 'incident', d.public_id,
                          'status', d.status, 'due_at', d.due_at, 'at', %(now)s),
       %(now)s
FROM due d
WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.delivery_id = d.did)
ORDER BY d.due_at
LIMIT %(limit)s
ON CONFLICT (delivery_id) DO NOTHING
"""


def _targets(
    action: str, department: str | None, data: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(rule, subscriber scope, code) for the event's subscribers besides the reporter."""
    out: list[tuple[str, str, str]] = []
    if action == "dispatch":
        codes = [data.get("lead") or department, *data.get("supporting", [])]
        out += [("department", "department", c) for c in codes if c]
    elif action == "whistle":
        out += [("department", "department", c) for c in data.get("departments", [])]
    elif action == "urge" and department:
        out.append(("department", "department", department))
    elif action == "escalate" and data.get("to_area"):
        out.append(("dispatcher", "dispatchers", str(data["to_area"])))
    return out


def notifies(
    action: str,
    from_status: str | None,
    to_status: str,
    department: str | None,
    data: dict[str, Any],
) -> bool:
    """Whether an event of this kind has anyone to tell (queue_for_event writes rows)."""
    return bool(
        _targets(action, department, data)
        or (action in REPORTER_ACTIONS and to_status != from_status)  # the reporter
        # The grid's officers verify what a department reports handled.
        or (action == "handle" and to_status == "handled")
        # 不满意 sent the case back (GRIDGOV_REOPEN_UNSATISFIED): its area's command centre decides.
        or action == "review"
    )


def queue_for_event(
    conn: Connection[Any],
    *,
    event_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    department: str | None,
    data: dict[str, Any],
) -> int:
    """Write the outbox rows of one event (inside its transaction); returns how many."""
    if not notifies(action, from_status, to_status, department, data):
        return 0
    targets = _targets(action, department, data)
    reporter = action in REPORTER_ACTIONS and to_status != from_status
    officers = action == "handle" and to_status == "handled"
    review = action == "review"
    cur = conn.execute(
        QUEUE_EVENT_SQL,
        {
            "event_id": event_id,
            "rules": [t[0] for t in targets],
            "scopes": [t[1] for t in targets],
            "codes": [t[2] for t in targets],
            "reporter": reporter,
            "officers": officers,
            "review": review,
            "public_notes": REPORTER_NOTE_ACTIONS,
        },
    )
    return cur.rowcount


def queue_due(
    conn: Connection[Any], now: dt.datetime, lookback: dt.timedelta, limit: int = 1000
) -> int:
    """Tell dispatchers of cases that fell due in (now - lookback, now]; returns rows written."""
    with conn.transaction():
        cur = conn.execute(QUEUE_DUE_SQL, {"now": now, "since": now - lookback, "limit": limit})
        return cur.rowcount
