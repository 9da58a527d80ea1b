"""The printable case file's map: the incident's grid, nearby buildings and the point, as SVG
path data made by PostGIS (ST_AsSVG), so the printed map needs no tiles and no script."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import Forbidden, NotFound
from api.services.identity.auth import User
from api.services.identity.policy import incident_view
from api.services.photos.incident_photos import STAFF_ROLES

MAX_BUILDINGS = 300  # a printed map needs the neighbourhood, not the city

# The frame: the incident's grid (or its responsible area when it has none) with the point,
# widened by 10 % and at least ±150 m, as ST_AsSVG coordinates (x = lon, y = -lat).
CASE_MAP_SQL = """
WITH i AS (
    SELECT id, geom, coalesce(grid_code, responsible_area_code) AS area_code
    FROM incidents WHERE public_id = %(id)s
), a AS (
    SELECT ar.geom, ar.name, ar.code FROM areas ar JOIN i ON ar.code = i.area_code
    WHERE ar.valid_to IS NULL
), frame AS (
    -- geography buffer: 150 m on the ground whatever the latitude
    SELECT ST_Envelope(ST_Collect(ARRAY[
        (SELECT ST_Envelope(geom) FROM a),
        (SELECT ST_Envelope(ST_Buffer(geom::geography, 150)::geometry) FROM i)
    ])) AS box
), wide AS (
    SELECT ST_Expand(box, (ST_XMax(box) - ST_XMin(box)) * 0.05) AS box FROM frame
)
SELECT
    (SELECT ST_AsSVG(geom, 0, 7) FROM a) AS area_path,
    (SELECT name FROM a) AS area_name,
    (SELECT code FROM a) AS area_code,
    ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
    ST_XMin(w.box) AS xmin, ST_YMin(w.box) AS ymin, ST_XMax(w.box) AS xmax, ST_YMax(w.box) AS ymax,
    (SELECT coalesce(array_agg(ST_AsSVG(b.geom, 0, 7)), '{}')
     FROM (SELECT geom FROM buildings WHERE geom && w.box LIMIT %(limit)s) b) AS buildings
FROM i, wide w
"""


def require_case_file(conn: Connection[Any], user: User, public_id: str) -> None:
    """Only staff with the incident in their scope print its case file (404 if unknown)."""
    if not conn.execute("SELECT 1 FROM incidents WHERE public_id = %s", (public_id,)).fetchone():
        raise NotFound(f"No incident '{public_id}'.")
    if user.role not in STAFF_ROLES or incident_view(conn, user, public_id) != "full":
        raise Forbidden(
            "The printable case file is for staff whose scope holds this incident.",
            {"incident": public_id},
        )


def case_map(conn: Connection[Any], public_id: str) -> dict[str, Any]:
    """SVG path data and frame of the incident's place (see CASE_MAP_SQL)."""
    row = conn.execute(CASE_MAP_SQL, {"id": public_id, "limit": MAX_BUILDINGS}).fetchone()
    if row is None:
        raise NotFound(f"No incident '{public_id}'.")
    return dict(row)
