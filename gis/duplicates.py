"""Likely duplicates: open incidents of the same category close to a point, reported recently."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

from gis.topology import degrees_for

MAX_SUGGESTIONS = 10

# The box (degrees, padded) lets the GiST index on incidents.geom pick candidates; the spheroid
# distance (geography) then decides, so the radius is metres everywhere, not degrees.
# The candidates are read in a fenced subquery (OFFSET 0) holding only the box and the filters no
# index serves, so the time window is tested on those few rows. Unfenced, the generic plan (the
# pool's plan_cache_mode) guesses the window at 0.5 % of the table and ANDs the geometry bitmap
# with a range scan of ix_incidents_reported_at, which reads every incident of the last
# `duplicate_hours` city-wide: 0.34 of a 0.38 ms search with 10,000 recent incidents
# (docs/performance.md, 2026-11-26 afternoon). The fenced scan reads only the incidents ever
# reported in the box, however many the city has.
NEARBY_OPEN_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT i.public_id AS id, i.status, i.reported_at,
       round(ST_Distance(i.geom::geography, pt.g::geography)::numeric, 1)::float8 AS distance_m
FROM (
    SELECT c.id, c.public_id, c.status, c.reported_at, c.geom
    FROM incidents c, pt
    WHERE c.geom && ST_Expand(pt.g, %(dx)s, %(dy)s)
      AND c.category_code = %(category)s
      AND c.status NOT IN ('closed', 'rejected')
    OFFSET 0
) i, pt
WHERE i.reported_at >= %(since)s AND i.reported_at <= %(until)s
  AND i.public_id <> %(exclude)s
  AND ST_DWithin(i.geom::geography, pt.g::geography, %(radius)s)
ORDER BY distance_m, i.reported_at, i.id
LIMIT %(limit)s
"""


def nearby_open_incidents(conn: Connection[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Open incidents of the category within the radius of the point reported in [since, until]
    (`params`: those `nearby_open_params` gives)."""
    rows = conn.execute(NEARBY_OPEN_SQL, params, prepare=True).fetchall()
    return [dict(r) for r in rows]


def nearby_open_params(
    *,
    lon: float,
    lat: float,
    category: str,
    radius_m: float,
    since: dt.datetime,
    until: dt.datetime,
    exclude: str,
) -> dict[str, Any]:
    """NEARBY_OPEN_SQL's parameters (also used by intake, which runs it inside its INSERT)."""
    dx, dy = degrees_for(radius_m, lat)
    return {
        "lon": lon,
        "lat": lat,
        "dx": dx,
        "dy": dy,
        "category": category,
        "since": since,
        "until": until,
        "exclude": exclude,
        "radius": radius_m,
        "limit": MAX_SUGGESTIONS,
    }
