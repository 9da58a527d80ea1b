"""Reading incidents: one incident with its event log, in the view the caller may see."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import NotFound

# Built in SQL so the row, its location and its events come back in one round trip.
DETAIL_SQL = """
SELECT jsonb_build_object(
    'id', i.public_id,
    'status', i.status,
    'category', jsonb_build_object('code', c.code, 'name', c.name),
    'description', i.description,
    'source', i.source,
    'location', ST_AsGeoJSON(i.geom, 7)::jsonb,
    'original_location', jsonb_build_object('x', i.orig_x, 'y', i.orig_y, 'crs', i.orig_crs),
    'assignment', i.assignment,
    'due_at', i.due_at,
    'overdue', i.due_at IS NOT NULL AND i.closed_at IS NULL AND i.due_at < now(),
    'reported_at', i.reported_at,
    'updated_at', i.updated_at,
    'closed_at', i.closed_at,
    'is_demo', i.is_demo,
    'reporter', CASE WHEN %(full)s THEN i.reporter END,
    'events', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'id', e.id, 'at', e.at, 'action', e.action, 'from_status', e.from_status,
            'to_status', e.to_status, 'department', e.department_code,
            'actor', CASE WHEN %(full)s THEN e.actor END,
            'note', CASE WHEN %(full)s THEN e.note END,
            'data', CASE WHEN %(full)s THEN e.data END) ORDER BY e.id), '[]'::jsonb)
        FROM incident_events e WHERE e.incident_id = i.id)
) AS doc, i.reporter_user_id
FROM incidents i JOIN categories c ON c.code = i.category_code
WHERE i.public_id = %(id)s
"""


def incident_detail(conn: Connection[Any], public_id: str, *, full: bool = True) -> dict[str, Any]:
    """One incident with events; `full=False` hides contact data, actors and notes."""
    row = conn.execute(DETAIL_SQL, {"id": public_id, "full": full}, prepare=True).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    doc: dict[str, Any] = row["doc"]
    if not full:
        doc.pop("reporter", None)
    return doc


def reporter_user_id(conn: Connection[Any], public_id: str) -> int | None:
    """Who reported an incident (user id), if they were signed in."""
    row = conn.execute(
        "SELECT reporter_user_id FROM incidents WHERE public_id = %s", (public_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    return row["reporter_user_id"]
