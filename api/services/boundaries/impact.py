"""What a boundary change does to responsibility: buildings' grids and open incidents.

Runs inside the save's transaction, after the new versions are written (so `area_parts` already
holds them): buildings in the touched region get their grid re-derived first (the building rule
of assignment depends on it), then every open incident near the touched region is assigned again
with the same rules as a new report (gis.assign, here gis.assign_many: all of them in one
statement). Those whose areas change are updated, with a `reassign` event saying why, again in
one statement for all (set-based: 5,000 incidents of a busy grid are two statements, not 15,000;
docs/performance.md, 2026-12-05); closed and rejected incidents keep their historical assignment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from api.responses import dumps
from api.services.notifications.rules import notifies, queue_for_event
from api.services.workflow.events import CHANNEL
from api.settings import Settings
from gis.assign import Assignment
from gis.assign_many import assign_incidents
from gis.reassign import open_incidents_near, regrid_buildings

AREA_KEYS = ("grid", "community", "street", "district", "responsible_area")

# Every incident that moves, in one statement: its row updated, its `reassign` event appended
# (the statement-level triggers — evaluation facts, tile invalidation — run once for all), and
# the NOTIFY that append_event would send for each event, in event id order.
MOVE_SQL = """
WITH r AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        id bigint, public_id text, status text, method text, distance_m double precision,
        building_id bigint, grid text, community text, street text, district text,
        responsible_area text, grid_v bigint, community_v bigint, street_v bigint,
        district_v bigint, department text, rule_id bigint, assignment jsonb, note text,
        data jsonb)
), moved AS (
    UPDATE incidents i SET
        method = r.method, distance_m = r.distance_m, building_id = r.building_id,
        grid_code = r.grid, community_code = r.community, street_code = r.street,
        district_code = r.district, responsible_area_code = r.responsible_area,
        grid_version_id = r.grid_v, community_version_id = r.community_v,
        street_version_id = r.street_v, district_version_id = r.district_v,
        department_code = r.department, rule_id = r.rule_id, assignment = r.assignment,
        updated_at = %(at)s
    FROM r WHERE i.id = r.id
    RETURNING i.id
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                                 department_code, note, data)
    SELECT r.id, %(at)s, %(actor)s, 'reassign', r.status, r.status, r.department, r.note, r.data
    FROM r ORDER BY r.id
    RETURNING id, incident_id, from_status, to_status, department_code
)
SELECT ev.id, ev.incident_id, ev.from_status, ev.to_status, ev.department_code,
       pg_notify(%(channel)s, json_build_object(
           'event_id', ev.id, 'incident', r.public_id, 'action', 'reassign',
           'status', ev.to_status)::text) AS notified
FROM ev JOIN r ON r.id = ev.incident_id
ORDER BY ev.id
"""


@dataclass
class Impact:
    """Incidents and buildings that moved to another grid/department."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `impact` member of a save or preview response."""
        return {"incidents": self.incidents, "buildings": self.buildings}


def _json(value: Any) -> str:
    return dumps(value).decode()  # orjson, as append_event writes event data


def _before(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "grid": rec["grid_code"],
        "community": rec["community_code"],
        "street": rec["street_code"],
        "district": rec["district_code"],
        "responsible_area": rec["responsible_area_code"],
        "department": rec["department_code"],
    }


def settle_assignments(
    conn: Connection[Any],
    settings: Settings,
    *,
    touched: BaseGeometry,
    grids_changed: bool,
    at: dt.datetime,
    actor: str,
    why: str,
    areas: list[str],
) -> Impact:
    """Move buildings and open incidents whose grid/department the change altered."""
    impact = Impact()
    if grids_changed:
        impact.buildings = [
            {"id": b["id"], "name": b["name"], "from": b["old_grid"], "to": b["new_grid"]}
            for b in regrid_buildings(conn, touched)
        ]
    near = open_incidents_near(conn, touched, settings.assignment.nearest_grid_m)
    impact.incidents = reassign_incidents(
        conn, settings, near, at=at, actor=actor, why=why, areas=areas
    )
    return impact


def _moved(
    inc: dict[str, Any], new: Assignment, why: str, areas: list[str]
) -> dict[str, Any] | None:
    """The row MOVE_SQL writes for one incident, or None when none of its areas changed."""
    answer = new.as_json(inc["category_code"])
    before = _before(inc)
    after = {level: new.code(level) for level in ("grid", "community", "street", "district")}
    after["responsible_area"] = new.responsible_area_code
    after["department"] = answer["department"]["code"] if answer["department"] else None
    if all(before[k] == after[k] for k in AREA_KEYS):
        return None
    note = (
        f"Boundary change ({why}): grid {before['grid'] or '-'} → {after['grid'] or '-'}, "
        f"department {before['department'] or '-'} → {after['department'] or '-'}."
    )
    return {
        "id": inc["id"],
        "public_id": inc["public_id"],
        "status": inc["status"],
        "method": new.method,
        "distance_m": new.distance_m,
        "building_id": new.building["id"] if new.building else None,
        **{k: after[k] for k in AREA_KEYS},
        "department": after["department"],
        "grid_v": new.version_id("grid"),
        "community_v": new.version_id("community"),
        "street_v": new.version_id("street"),
        "district_v": new.version_id("district"),
        "rule_id": answer["rule"]["id"] if answer["rule"] else None,
        "assignment": answer,
        "note": note,
        "data": {"reason": "boundary_change", "areas": areas, "from": before, "to": after},
    }


def reassign_incidents(
    conn: Connection[Any],
    settings: Settings,
    incs: list[dict[str, Any]],
    *,
    at: dt.datetime,
    actor: str,
    why: str,
    areas: list[str],
) -> list[dict[str, Any]]:
    """Assign open incidents again (rows of gis.reassign.OPEN_INCIDENTS_NEAR_SQL's shape, locked,
    by id) with the rules of a new report, all in one statement (gis.assign_many); those whose
    areas changed are updated with a `reassign` event each, in one more statement (MOVE_SQL).
    Returns {id, status, from, to} per moved incident. One outside every area keeps its last
    known assignment."""
    a = settings.assignment
    news = assign_incidents(
        conn, [inc["id"] for inc in incs], nearest_m=a.nearest_grid_m, near_m=a.near_boundary_m
    )
    rows = []
    for inc in incs:
        new = news.get(inc["id"])
        row = None if new is None else _moved(inc, new, why, areas)
        if row is not None:
            rows.append(row)
    if rows:
        _write(conn, rows, at=at, actor=actor)
    return [
        {
            "id": r["public_id"],
            "status": r["status"],
            "from": r["data"]["from"],
            "to": r["data"]["to"],
        }
        for r in rows
    ]


def _write(
    conn: Connection[Any], rows: list[dict[str, Any]], *, at: dt.datetime, actor: str
) -> None:
    """MOVE_SQL, then the outbox rows append_event would queue (none for `reassign` today: the
    check keeps the two paths the same if the notification rules change). Each event's data is
    the row's own (not read back: 5,000 JSON documents parsed for nothing)."""
    params = {"rows": Jsonb(rows, dumps=_json), "at": at, "actor": actor, "channel": CHANNEL}
    with conn.cursor(row_factory=dict_row) as cur:
        events = cur.execute(MOVE_SQL, params).fetchall()
    data = {r["id"]: r["data"] for r in rows}
    for ev in events:
        ev["data"] = data[ev["incident_id"]]
        if notifies(
            "reassign", ev["from_status"], ev["to_status"], ev["department_code"], ev["data"]
        ):
            queue_for_event(
                conn,
                event_id=ev["id"],
                action="reassign",
                from_status=ev["from_status"],
                to_status=ev["to_status"],
                department=ev["department_code"],
                data=ev["data"],
            )
