"""The command view of patrols: positions now, today's tracks, the nearest on-duty officers.

Positions are shown only to admins and to dispatchers whose scope holds the patrol's area
(`store.POSITION_ROLES`); everyone else gets 403 here, and positions never reach public feeds,
tiles or OGC. A batch of fixes NOTIFYs `gridgov_patrols` with the patrol's newest clean fix
(in gis.patrols.ADD_FIXES_SQL, the statement that stores it); the stream hub fans that out to
the open GET /api/v1/patrols/live streams, each of which passes on only the patrols of its
user's scope.

"Nearest" is the walking distance along the base map's streets from the case to the officer's
last clean fix when the database has pgRouting and the base map has streets (gis/walking.py):
the `WALK_AMONG` nearest in a straight line are walked and ranked by it. Otherwise, and for an
officer no street reaches, it is the straight-line (geodesic) distance (docs/patrols.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from psycopg import Connection

from api.errors import Forbidden, NotFound
from api.services.identity.access import area_in_scope
from api.services.identity.auth import User
from api.services.patrols.store import POSITION_ROLES, SCOPE_SQL
from gis.walking import can_route, walking_m

PATROL_CHANNEL = "gridgov_patrols"
LIVE_WINDOW = dt.timedelta(minutes=1)  # "on patrol now": the last fix is at most this old
ON_DUTY_WINDOW = dt.timedelta(minutes=10)  # nearest officers: patrol not ended, fix this fresh
WALK_AMONG = 30  # nearest officers: how many of the straight-line nearest are walked

SCOPE_AREAS_SQL = SCOPE_SQL + " SELECT code FROM sub"  # noqa: S608 (constants only)

# Positions the caller may see: admins all, dispatchers the subtree of their area.
SCOPE_HEAD = {"admin": "", "dispatcher": SCOPE_SQL}
SCOPE_COND = {"admin": "true", "dispatcher": "p.area_code IN (SELECT code FROM sub)"}

TRACKS_SQL = """
SELECT p.id, p.leader, p.department_code AS department, p.area_code AS area,
       p.started_at, p.ended_at,
       ST_AsGeoJSON(ST_MakeLine(f.geom ORDER BY f.at, f.client_id), 7)::json AS geometry,
       max(f.at) AS last_fix_at
FROM patrols p JOIN patrol_fixes f ON f.patrol_id = p.id AND NOT f.inaccurate AND NOT f.jump
WHERE f.at >= %(since)s AND {cond}
GROUP BY p.id ORDER BY p.id LIMIT 2000"""

# Running patrols of the scope with their newest clean fix, that fix at most %(since)s old.
LATEST_SQL = """
SELECT p.id AS patrol, p.leader, p.department_code AS department, p.area_code AS area,
       ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat, l.at AS last_fix_at, l.geom
FROM patrols p
JOIN LATERAL (SELECT geom, at FROM patrol_fixes f WHERE f.patrol_id = p.id
              AND NOT f.inaccurate AND NOT f.jump ORDER BY f.at DESC LIMIT 1) l ON true
WHERE p.ended_at IS NULL AND p.started_at >= %(since)s - interval '2 days'
  AND l.at >= %(since)s AND {cond}"""

NOW_SQL = "SELECT patrol, leader, department, area, lon, lat, last_fix_at FROM ({latest}) x"

NEAREST_SQL = """
SELECT x.patrol, x.leader, x.department, x.area, x.lon, x.lat, x.last_fix_at,
       ST_Distance(x.geom::geography, i.geom::geography) AS straight_m
FROM ({latest}) x CROSS JOIN (SELECT geom FROM incidents WHERE public_id = %(incident)s) i
ORDER BY straight_m, x.patrol LIMIT %(limit)s"""


def require_positions(user: User) -> None:
    """Positions: admins and dispatchers only (their scope is applied by the queries)."""
    if user.role not in POSITION_ROLES:
        raise Forbidden(
            "Positions of a patrol are shown to dispatchers and admins of its area only.",
            {"role": user.role, "needed": list(POSITION_ROLES)},
        )


def scoped(query: str, user: User) -> str:
    """`query` around LATEST_SQL (or TRACKS_SQL) limited to the caller's scope."""
    latest = LATEST_SQL.replace("{cond}", SCOPE_COND[user.role])
    return SCOPE_HEAD[user.role] + query.format(latest=latest, cond=SCOPE_COND[user.role])


def scope_areas(conn: Connection[Any], user: User) -> frozenset[str] | None:
    """The area codes whose patrols `user` may follow live (None: every area, for admins)."""
    require_positions(user)
    if user.role == "admin":
        return None
    rows = conn.execute(SCOPE_AREAS_SQL, {"root": user.area_code}).fetchall()
    return frozenset(r["code"] for r in rows)


def in_scope(payload: str, areas: frozenset[str] | None) -> bool:
    """Whether a position notification concerns a patrol of the stream's scope."""
    if areas is None:
        return True
    try:
        area = orjson.loads(payload).get("area")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return isinstance(area, str) and area in areas


def on_patrol_now(conn: Connection[Any], user: User, now: dt.datetime) -> list[dict[str, Any]]:
    """The patrols of the scope whose newest clean fix is at most LIVE_WINDOW old."""
    require_positions(user)
    params = {"since": now - LIVE_WINDOW, "root": user.area_code}
    return [dict(r) for r in conn.execute(scoped(NOW_SQL, user), params).fetchall()]


def tracks_today(conn: Connection[Any], user: User, since: dt.datetime) -> dict[str, Any]:
    """Clean tracks since `since` (the local day's start) of the scope's patrols, as GeoJSON."""
    require_positions(user)
    rows = conn.execute(scoped(TRACKS_SQL, user), {"since": since, "root": user.area_code})
    features = [
        {
            "type": "Feature",
            "id": r["id"],
            "geometry": r["geometry"],
            "properties": {k: r[k] for k in r if k not in ("geometry", "id")} | {"patrol": r["id"]},
        }
        for r in rows.fetchall()
    ]
    return {"type": "FeatureCollection", "features": features}


def nearest_officers(
    conn: Connection[Any], user: User, incident: str, now: dt.datetime, limit: int
) -> dict[str, Any]:
    """就近派遣: on-duty officers (patrol running, fix ≤ ON_DUTY_WINDOW old) of the caller's
    scope, nearest first: by walking distance along the streets when the base map can route
    (`method` "walking"; an officer no street reaches comes after, by straight line), else by
    straight-line distance (`method` "straight_line")."""
    require_positions(user)
    row = conn.execute(
        "SELECT public_id, coalesce(responsible_area_code, grid_code) AS area, "
        "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incidents WHERE public_id = %s",
        (incident,),
    ).fetchone()
    if row is None:
        raise NotFound(f"No incident '{incident}'.", {"incident": incident})
    if not area_in_scope(conn, user, row["area"]):
        raise Forbidden(
            f"Incident {incident} lies outside your scope: its officers are not yours to see.",
            {"incident": incident, "scope": user.area_code},
        )
    routable = can_route(conn)
    params = {
        "incident": incident,
        "since": now - ON_DUTY_WINDOW,
        "root": user.area_code,
        "limit": max(limit, WALK_AMONG) if routable else limit,
    }
    officers = [
        dict(r) | {"straight_m": round(float(r["straight_m"]), 1), "walking_m": None}
        for r in conn.execute(scoped(NEAREST_SQL, user), params).fetchall()
    ]
    walks = None
    if routable and officers:
        walks = walking_m(conn, (row["lon"], row["lat"]), [(o["lon"], o["lat"]) for o in officers])
    if walks is not None:  # the case lies on the street network
        for officer, walk in zip(officers, walks, strict=True):
            officer["walking_m"] = None if walk is None else round(walk, 1)
        officers.sort(key=lambda o: (o["walking_m"] is None, o["walking_m"] or 0, o["straight_m"]))
    for officer in officers:
        walk = officer["walking_m"]
        officer["distance_m"] = officer["straight_m"] if walk is None else walk
    return {
        "incident": incident,
        "method": "straight_line" if walks is None else "walking",
        "on_duty_minutes": int(ON_DUTY_WINDOW.total_seconds() // 60),
        "officers": officers[:limit],
    }
