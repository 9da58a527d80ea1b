"""Reading incidents: one incident with its event log, in the view the caller may see."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import NotFound

# The incident's own fields in its document, for the incident row aliased `{a}` (`fields_of`);
# intake's INSERT_SQL builds the same document from the row it inserts. (jsonb keeps no key order.)
_FIELDS_SQL = """
    'id', {a}.public_id,
    'status', {a}.status,
    'description', {a}.description,
    'source', {a}.source,
    'location', ST_AsGeoJSON({a}.geom, 7)::jsonb,
    'original_location', jsonb_build_object('x', {a}.orig_x, 'y', {a}.orig_y, 'crs', {a}.orig_crs),
    'assignment', {a}.assignment,
    'due_at', {a}.due_at,
    'overdue', {a}.due_at IS NOT NULL AND {a}.closed_at IS NULL AND {a}.due_at < now(),
    'reported_at', {a}.reported_at,
    'updated_at', {a}.updated_at,
    'closed_at', {a}.closed_at,
    'is_demo', {a}.is_demo,"""


def fields_of(alias: str) -> str:
    """The document's own fields (`'key', value,` lines) of the incident row aliased `alias`."""
    return _FIELDS_SQL.replace("{a}", alias)


# Built in SQL so the row, its location and its events come back in one round trip.
DETAIL_SQL = """
SELECT jsonb_build_object({fields}
    'category', jsonb_build_object('code', c.code, 'name', c.name),
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
""".replace("{fields}", fields_of("i"))


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
