"""The workflow side of one incident: responsibility, joint handling, whistles, allowed actions."""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from api.services.identity.auth import User
from api.services.intake.duplicates import duplicate_links
from api.services.photos.incident_photos import incident_photos_by_public_id
from api.services.workflow.incidents import incident_detail
from api.services.workflow.machine import allowed_actions, load_incident, load_situation
from api.services.workflow.whistles import WHISTLE_JSON

VIEW_SQL = sql.SQL(
    """
SELECT jsonb_build_object(
    'responsible_area', (SELECT jsonb_build_object('code', a.code, 'name', a.name,
                                                   'level', a.level)
                         FROM areas a
                         WHERE a.code = i.responsible_area_code AND a.valid_to IS NULL),
    'escalation_level', i.escalation_level,
    'rework_count', i.rework_count,
    'urge_count', i.urge_count,
    'suspended_from', i.suspended_from,
    'extension_request', CASE WHEN i.extension_until IS NOT NULL THEN jsonb_build_object(
        'until', i.extension_until, 'requested_at', i.extension_requested_at) END,
    'departments', jsonb_build_object(
        'lead', i.department_code,
        'supporting', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'code', s.department_code, 'name', d.name, 'assigned_at', s.assigned_at,
                'acknowledged_at', s.acknowledged_at,
                'acknowledged_by', CASE WHEN %(full)s THEN s.acknowledged_by END)
                ORDER BY s.department_code), '[]'::jsonb)
            FROM incident_supports s JOIN departments d ON d.code = s.department_code
            WHERE s.incident_id = i.id)),
    'whistles', (SELECT coalesce(jsonb_agg({whistle} ORDER BY w.id), '[]'::jsonb)
                 FROM whistles w WHERE w.incident_id = i.id)
) AS doc
FROM incidents i WHERE i.public_id = %(id)s
"""
).format(whistle=sql.SQL(WHISTLE_JSON))


def incident_workflow(
    conn: Connection[Any], public_id: str, user: User | None, *, full: bool
) -> dict[str, Any]:
    """Workflow fields of an incident, with `allowed_actions` for the calling user."""
    inc = load_incident(conn, public_id)
    row = conn.execute(VIEW_SQL, {"id": public_id, "full": full}).fetchone()
    assert row is not None
    doc: dict[str, Any] = dict(row["doc"])
    doc["allowed_actions"] = allowed_actions(load_situation(conn, user, inc)) if user else []
    return doc


def incident_document(
    conn: Connection[Any], public_id: str, user: User | None, *, full: bool
) -> dict[str, Any]:
    """GET /api/v1/incidents/{id}: the incident, its event log and its workflow fields."""
    doc = incident_detail(conn, public_id, full=full)
    doc.update(incident_workflow(conn, public_id, user, full=full))
    doc.update(duplicate_links(conn, public_id))  # duplicate_of / duplicates
    doc["photos"] = incident_photos_by_public_id(conn, public_id, user, full=full)  # issue 16
    return doc
