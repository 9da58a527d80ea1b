"""A patrol's positions as GeoJSON, for dispatchers and admins of its scope only."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from api.errors import Forbidden
from api.services.identity.auth import User
from api.services.patrols.store import load_patrol, sees_positions


def patrol_track(conn: Connection[Any], user: User, patrol_id: int) -> dict[str, Any]:
    """Every fix in time order with its flags (a FeatureCollection of points)."""
    p = load_patrol(conn, patrol_id)
    if not sees_positions(conn, user, p):
        raise Forbidden(
            "Positions of a patrol are shown to dispatchers and admins of its area only.",
            {"patrol": patrol_id},
        )
    rows = conn.execute(
        "SELECT client_id, at, ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m, grid_code, "
        "inaccurate, jump, outside FROM patrol_fixes WHERE patrol_id = %s ORDER BY at, client_id",
        (patrol_id,),
    ).fetchall()
    return {
        "type": "FeatureCollection",
        "patrol": patrol_id,
        "features": [
            {
                "type": "Feature",
                "id": r["client_id"],
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {
                    k: r[k]
                    for k in ("at", "accuracy_m", "grid_code", "inaccurate", "jump", "outside")
                },
            }
            for r in rows
        ],
    }
