"""Incident events with their incident as a GeoJSON Feature, for the live stream.

One row per event: its id (the SSE id), action, statuses and the message text, built in SQL so a
map can move or recolour the marker without another request. The caller supplies which events
(`which`) and whose view (`visible`); both are composed fragments with bound parameters.
"""

from __future__ import annotations

from psycopg import sql

from gis.features import INCIDENT_PROPS

FEED_SQL = """
SELECT e.id, e.action, e.from_status, e.to_status,
    jsonb_build_object(
        'event_id', e.id, 'at', e.at, 'action', e.action, 'actor', e.actor,
        'from_status', e.from_status, 'to_status', e.to_status,
        'department', e.department_code, 'note', e.note, 'data', e.data,
        'incident', jsonb_build_object(
            'type', 'Feature', 'id', t.public_id,
            'geometry', ST_AsGeoJSON(t.geom, 7)::jsonb,
            'properties', jsonb_build_object({props}))
    )::text AS doc
FROM incident_events e JOIN incidents t ON t.id = e.incident_id
WHERE ({which}) AND ({visible})
ORDER BY e.id
LIMIT %(limit)s
"""


def event_feed_query(which: sql.Composable, visible: sql.Composable) -> sql.Composed:
    """The feed query for the chosen events, narrowed to what one user may see (alias `t`)."""
    return sql.SQL(FEED_SQL).format(props=sql.SQL(INCIDENT_PROPS), which=which, visible=visible)
