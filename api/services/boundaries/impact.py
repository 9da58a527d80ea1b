"""What a boundary change does to responsibility: buildings' grids and open incidents.

Runs inside the save's transaction, after the new versions are written (so `area_parts` already
holds them): buildings in the touched region get their grid re-derived first (the building rule
of assignment depends on it), then every open incident near the touched region is assigned again
with the same rules as a new report (gis.assign, here gis.assign_many's statement), and those
whose areas change are updated, with a `reassign` event saying why, in the same statement
(set-based: 5,000 incidents of a busy grid are one statement, not 15,000; docs/performance.md,
2026-12-05); closed and rejected incidents keep their historical assignment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from api.services.notifications.rules import notifies, queue_for_event
from api.services.workflow.events import CHANNEL
from api.settings import Settings
from gis.assign_many import ASSIGN_MANY_SQL
from gis.reassign import open_incidents_near, regrid_buildings

AREA_KEYS = ("grid", "community", "street", "district", "responsible_area")

# Every open incident assigned again and every one that moves written, in one statement:
# gis.assign_many's rules (ASSIGN_MANY_SQL, as it is, in `a`); for each incident its new
# `assignment` document (gis.assign.Assignment.as_json for its category), event note and data
# built here with jsonb_build_object, not in Python (5,000 incidents were ≈ 15,000 JSON
# documents parsed, rebuilt and sent back: docs/performance.md, 2026-12-05 late evening); those
# whose areas changed are updated with a `reassign` event each (the statement-level triggers —
# evaluation facts, tile invalidation — run once for all), and the NOTIFY that append_event would
# send for each event, in event id order. Returns the moved incidents' before/after codes only.
MOVE_SQL = f"""
WITH a AS MATERIALIZED (
{ASSIGN_MANY_SQL}
), c AS MATERIALIZED (
    SELECT i.id, i.public_id, i.status, a.method, coalesce(a.distance_m, 0) AS distance_m,
           a.levels, a.responsible_area_code, a.building, a.near_boundary,
           -- as_json(category): the route of the incident's category, none without one
           CASE WHEN i.category_code <> '' THEN a.routes -> 0 END AS route,
           i.grid_code AS f_grid, i.community_code AS f_community, i.street_code AS f_street,
           i.district_code AS f_district, i.responsible_area_code AS f_responsible_area,
           i.department_code AS f_department
    FROM a JOIN incidents i ON i.id = a.id
    WHERE a.method IS NOT NULL  -- outside every area: keeps its last known assignment
), r AS MATERIALIZED (
    SELECT c.*, c.levels -> 'grid' ->> 'code' AS t_grid,
           c.levels -> 'community' ->> 'code' AS t_community,
           c.levels -> 'street' ->> 'code' AS t_street,
           c.levels -> 'district' ->> 'code' AS t_district,
           c.responsible_area_code AS t_responsible_area,
           c.route -> 'department' ->> 'code' AS t_department
    FROM c
), m AS MATERIALIZED (
    SELECT r.*, jsonb_build_object(
        'grid', r.levels -> 'grid', 'community', r.levels -> 'community',
        'street', r.levels -> 'street', 'district', r.levels -> 'district',
        'responsible_area', r.responsible_area_code, 'building', r.building,
        'department', r.route -> 'department', 'method', r.method,
        'distance_m', round(r.distance_m::numeric, 2)::float8,
        'near_boundary', r.near_boundary, 'rule', r.route -> 'rule') AS assignment,
        format('Boundary change (%%s): grid %%s → %%s, department %%s → %%s.', %(why)s::text,
               coalesce(nullif(r.f_grid, ''), '-'), coalesce(nullif(r.t_grid, ''), '-'),
               coalesce(nullif(r.f_department, ''), '-'),
               coalesce(nullif(r.t_department, ''), '-')) AS note,
        jsonb_build_object(
            'reason', 'boundary_change', 'areas', %(areas)s::jsonb,
            'from', jsonb_build_object(
                'grid', r.f_grid, 'community', r.f_community, 'street', r.f_street,
                'district', r.f_district, 'responsible_area', r.f_responsible_area,
                'department', r.f_department),
            'to', jsonb_build_object(
                'grid', r.t_grid, 'community', r.t_community, 'street', r.t_street,
                'district', r.t_district, 'responsible_area', r.t_responsible_area,
                'department', r.t_department)) AS data
    FROM r
    WHERE (r.f_grid, r.f_community, r.f_street, r.f_district, r.f_responsible_area)
          IS DISTINCT FROM (r.t_grid, r.t_community, r.t_street, r.t_district,
                            r.t_responsible_area)
), moved AS (
    UPDATE incidents i SET
        method = m.method, distance_m = m.distance_m,
        building_id = (m.building ->> 'id')::bigint,
        grid_code = m.t_grid, community_code = m.t_community, street_code = m.t_street,
        district_code = m.t_district, responsible_area_code = m.t_responsible_area,
        grid_version_id = (m.levels -> 'grid' ->> 'version_id')::bigint,
        community_version_id = (m.levels -> 'community' ->> 'version_id')::bigint,
        street_version_id = (m.levels -> 'street' ->> 'version_id')::bigint,
        district_version_id = (m.levels -> 'district' ->> 'version_id')::bigint,
        department_code = m.t_department, rule_id = (m.route -> 'rule' ->> 'id')::bigint,
        assignment = m.assignment, updated_at = %(at)s
    FROM m WHERE i.id = m.id
    RETURNING i.id
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                                 department_code, note, data)
    SELECT m.id, %(at)s, %(actor)s, 'reassign', m.status, m.status, m.t_department, m.note,
           m.data
    FROM m ORDER BY m.id
    RETURNING id, incident_id, from_status, to_status, department_code
)
SELECT ev.id, ev.from_status, ev.to_status, ev.department_code, m.public_id,
       m.f_grid, m.f_community, m.f_street, m.f_district, m.f_responsible_area, m.f_department,
       m.t_grid, m.t_community, m.t_street, m.t_district, m.t_responsible_area, m.t_department,
       pg_notify(%(channel)s, json_build_object(
           'event_id', ev.id, 'incident', m.public_id, 'action', 'reassign',
           'status', ev.to_status)::text) AS notified
FROM ev JOIN m ON m.id = ev.incident_id
ORDER BY ev.id
"""  # noqa: S608 (ASSIGN_MANY_SQL is a constant)


@dataclass
class Impact:
    """Incidents and buildings that moved to another grid/department."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `impact` member of a save or preview response."""
        return {"incidents": self.incidents, "buildings": self.buildings}


@dataclass(frozen=True)
class Cause:
    """Why open incidents move, as their `reassign` events record it: when, who, what change
    (`why`) and which areas it concerned."""

    at: dt.datetime
    actor: str
    why: str
    areas: list[str]


def settle_assignments(
    conn: Connection[Any],
    settings: Settings,
    *,
    touched: BaseGeometry,
    grids_changed: bool,
    cause: Cause,
) -> Impact:
    """Move buildings and open incidents whose grid/department the change altered."""
    impact = Impact()
    if grids_changed:
        impact.buildings = [
            {"id": b["id"], "name": b["name"], "from": b["old_grid"], "to": b["new_grid"]}
            for b in regrid_buildings(conn, touched)
        ]
    near = open_incidents_near(conn, touched, settings.assignment.nearest_grid_m)
    impact.incidents = reassign_incidents(conn, settings, near, cause)
    return impact


def reassign_incidents(
    conn: Connection[Any],
    settings: Settings,
    incs: list[dict[str, Any]],
    cause: Cause,
) -> list[dict[str, Any]]:
    """Assign open incidents again (rows with their `id`, locked, by id: gis.reassign's
    open_incidents_near, gis.bulk_assign's open_incidents_to_regrid) with the rules of a new
    report and update those whose areas changed, with a `reassign` event each: one statement
    (MOVE_SQL). Returns {id, status, from, to} per moved incident, by id. One outside every area
    keeps its last known assignment."""
    if not incs:
        return []
    a = settings.assignment
    # A custom plan, as gis.assign_many.assign_incidents does (and for the rest of the
    # transaction: the evaluation triggers' statements are planned for the batch's size).
    conn.execute("SET LOCAL plan_cache_mode = auto")
    params = {
        "ids": [inc["id"] for inc in incs],
        "nearest_m": a.nearest_grid_m,
        "near_m": a.near_boundary_m,
        "near_dy": a.near_boundary_m / 110_574.0 * 1.1,  # as gis.assign.assign_params
        "why": cause.why,
        "areas": Jsonb(cause.areas),
        "at": cause.at,
        "actor": cause.actor,
        "channel": CHANNEL,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        events = cur.execute(MOVE_SQL, params).fetchall()
    moved = []
    for ev in events:
        before = {k: ev["f_" + k] for k in (*AREA_KEYS, "department")}
        after = {k: ev["t_" + k] for k in (*AREA_KEYS, "department")}
        moved.append(
            {"id": ev["public_id"], "status": ev["to_status"], "from": before, "to": after}
        )
        # the outbox rows append_event would queue (none for `reassign` today: the check keeps
        # the two paths the same if the notification rules change)
        data = {"reason": "boundary_change", "areas": cause.areas, "from": before, "to": after}
        if notifies("reassign", ev["from_status"], ev["to_status"], ev["department_code"], data):
            queue_for_event(
                conn,
                event_id=ev["id"],
                action="reassign",
                from_status=ev["from_status"],
                to_status=ev["to_status"],
                department=ev["department_code"],
                data=data,
            )
    return moved
