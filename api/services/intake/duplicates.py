"""Duplicate reports: suggestions on intake, and the links a duplicate rejection leaves.

A new report near an open incident of the same category (GRIDGOV_DUPLICATE_RADIUS_M, within
GRIDGOV_DUPLICATE_HOURS) is answered with `possible_duplicates`; the dispatcher sees the same list
(GET /api/v1/incidents/{id}/possible-duplicates) and decides, with the workflow's `reject`
(`data.reason = duplicate`, `data.duplicate_of`). Both incidents then show the
link, so the reporter of the rejected one can follow the original.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection, sql

from api.errors import NotFound
from api.services.identity.auth import User
from api.services.identity.policy import require_read
from api.services.identity.visibility import incident_visibility
from api.settings import EarlyWarningSettings
from gis.duplicates import nearby_open_incidents, nearby_open_params


def possible_duplicates(
    conn: Connection[Any],
    settings: EarlyWarningSettings,
    *,
    public_id: str,
    lon: float,
    lat: float,
    category: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Open incidents the new report may repeat: id, status, distance (m) and age (hours)."""
    params = nearby_open_params(
        lon=lon,
        lat=lat,
        category=category,
        radius_m=settings.duplicate_radius_m,
        since=now - dt.timedelta(hours=settings.duplicate_hours),
        until=now,
        exclude=public_id,
    )
    rows = nearby_open_incidents(conn, params)
    return suggestions(rows, now)


def suggestions(rows: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """Rows of gis.duplicates.NEARBY_OPEN_SQL as `possible_duplicates` entries, aged at `now`."""
    return [
        {
            "id": r["id"],
            "status": r["status"],
            "distance_m": r["distance_m"],
            "age_hours": round((now - r["reported_at"]).total_seconds() / 3600, 1),
            "reported_at": r["reported_at"],
        }
        for r in rows
    ]


LINKS_SQL = """
SELECT
  (SELECT jsonb_build_object('id', o.public_id, 'status', o.status)
     FROM incident_events e JOIN incidents o ON o.public_id = e.data ->> 'duplicate_of'
     WHERE e.incident_id = i.id AND e.action = 'reject'
     ORDER BY e.id DESC LIMIT 1) AS duplicate_of,
  (SELECT coalesce(jsonb_agg(d.public_id ORDER BY d.id), '[]'::jsonb)
     FROM incident_events e JOIN incidents d ON d.id = e.incident_id
     WHERE e.action = 'reject' AND e.data ->> 'duplicate_of' = i.public_id) AS duplicates
FROM incidents i WHERE i.public_id = %s
"""


def duplicate_links(conn: Connection[Any], public_id: str) -> dict[str, Any]:
    """`duplicate_of` (the original, when this was rejected as its duplicate) and `duplicates`."""
    row = conn.execute(LINKS_SQL, (public_id,), prepare=True).fetchone()
    if row is None:
        return {"duplicate_of": None, "duplicates": []}
    return {"duplicate_of": row["duplicate_of"], "duplicates": list(row["duplicates"])}


INCIDENT_SQL = """
SELECT i.public_id, i.category_code, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.reported_at
FROM incidents i WHERE i.public_id = %(id)s AND {visible}
"""


def duplicates_of_incident(
    conn: Connection[Any], settings: EarlyWarningSettings, user: User, public_id: str
) -> dict[str, Any]:
    """For the dispatcher: what the report was offered as likely duplicates, statuses as now."""
    require_read(user, "early_warning", "Duplicate suggestions are for staff.")
    visible, params = incident_visibility(user, "i")
    query = sql.SQL(INCIDENT_SQL).format(visible=visible)
    row = conn.execute(query, {**params, "id": public_id}).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}' that you may follow.")
    return {
        "id": public_id,
        "possible_duplicates": possible_duplicates(
            conn,
            settings,
            public_id=public_id,
            lon=row["lon"],
            lat=row["lat"],
            category=row["category_code"],
            now=row["reported_at"],
        ),
    }
