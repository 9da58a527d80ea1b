"""What a boundary change does to responsibility: buildings' grids and open incidents.

Runs inside the save's transaction, after the new versions are written (so `area_parts` already
holds them): buildings in the touched region get their grid re-derived first (the building rule
of assignment depends on it), then every open incident near the touched region is assigned again
with the same rules as a new report (gis.assign). Those whose areas change are updated, with a
`reassign` event saying why; closed and rejected incidents keep their historical assignment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from api.services.events import append_event
from api.settings import Settings
from gis.assign import assign_point
from gis.errors import OutsideServiceArea
from gis.reassign import open_incidents_near, regrid_buildings

AREA_KEYS = ("grid", "community", "street", "district", "responsible_area")

UPDATE_SQL = """
UPDATE incidents SET
    method = %(method)s, distance_m = %(distance_m)s, building_id = %(building_id)s,
    grid_code = %(grid)s, community_code = %(community)s, street_code = %(street)s,
    district_code = %(district)s, responsible_area_code = %(responsible_area)s,
    grid_version_id = %(grid_v)s, community_version_id = %(community_v)s,
    street_version_id = %(street_v)s, district_version_id = %(district_v)s,
    department_code = %(department)s, rule_id = %(rule_id)s, assignment = %(assignment)s,
    updated_at = %(at)s
WHERE id = %(id)s
"""


@dataclass
class Impact:
    """Incidents and buildings that moved to another grid/department."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `impact` member of a save or preview response."""
        return {"incidents": self.incidents, "buildings": self.buildings}


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
    for inc in open_incidents_near(conn, touched, settings.assignment.nearest_grid_m):
        moved = reassign_incident(conn, settings, inc, at=at, actor=actor, why=why, areas=areas)
        if moved is not None:
            impact.incidents.append(moved)
    return impact


def reassign_incident(
    conn: Connection[Any],
    settings: Settings,
    inc: dict[str, Any],
    *,
    at: dt.datetime,
    actor: str,
    why: str,
    areas: list[str],
) -> dict[str, Any] | None:
    """Assign one open incident again (row of gis.reassign.OPEN_INCIDENTS_NEAR_SQL's shape);
    when its areas changed, update it with a `reassign` event and return {id, status, from, to}."""
    a = settings.assignment
    try:
        new = assign_point(
            conn,
            inc["lon"],
            inc["lat"],
            category=inc["category_code"],
            nearest_m=a.nearest_grid_m,
            near_m=a.near_boundary_m,
        )
    except OutsideServiceArea:
        return None  # nothing holds it any more: keep the last known assignment
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
    conn.execute(
        UPDATE_SQL,
        {
            "id": inc["id"],
            "method": new.method,
            "distance_m": new.distance_m,
            "building_id": new.building["id"] if new.building else None,
            **{k: after[k] for k in AREA_KEYS},
            "grid_v": new.version_id("grid"),
            "community_v": new.version_id("community"),
            "street_v": new.version_id("street"),
            "district_v": new.version_id("district"),
            "department": after["department"],
            "rule_id": answer["rule"]["id"] if answer["rule"] else None,
            "assignment": Jsonb(answer),
            "at": at,
        },
    )
    # through the shared event log, so live streams (SSE) hear about the move on commit
    append_event(
        conn,
        incident_id=inc["id"],
        public_id=inc["public_id"],
        at=at,
        actor=actor,
        action="reassign",
        from_status=inc["status"],
        to_status=inc["status"],
        department=after["department"],
        note=note,
        data={"reason": "boundary_change", "areas": areas, "from": before, "to": after},
    )
    return {"id": inc["public_id"], "status": inc["status"], "from": before, "to": after}
