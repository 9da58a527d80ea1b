"""Duplicate reports: suggestions on intake, and the links a duplicate rejection leaves.

A new report near an open incident of the same category (GRIDGOV_DUPLICATE_RADIUS_M, within
GRIDGOV_DUPLICATE_HOURS) is answered with `possible_duplicates`; the dispatcher decides, with the
workflow's `reject` (`data.reason = duplicate`, `data.duplicate_of`). Both incidents then show the
link, so the reporter of the rejected one can follow the original.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

from api.settings import EarlyWarningSettings
from gis.duplicates import nearby_open_incidents


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
    rows = nearby_open_incidents(
        conn,
        lon=lon,
        lat=lat,
        category=category,
        radius_m=settings.duplicate_radius_m,
        since=now - dt.timedelta(hours=settings.duplicate_hours),
        until=now,
        exclude=public_id,
    )
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
