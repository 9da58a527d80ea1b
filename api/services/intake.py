"""Report intake: normalise the location, assign it, route it, store incident + first event."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.types.json import Jsonb

from api.errors import IdempotencyConflict, UnknownCategory
from api.responses import dumps
from api.schemas.incidents import IncidentIn
from api.services.auth import User
from api.services.catalogue import chain_of, require_in_catalogue
from api.services.deadlines import WorkingCalendar
from api.services.duplicates import possible_duplicates
from api.services.incidents import incident_detail
from api.services.tile_cache import invalidate as invalidate_tiles
from api.settings import CalendarSettings, Settings
from gis.assign import assign_point
from gis.crs import normalize_crs, to_wgs84

INSERT_SQL = """
WITH inc AS (
    INSERT INTO incidents (
        id, public_id, geom, orig_x, orig_y, orig_crs, category_code, description, source, reporter,
        reporter_user_id, status, method, distance_m, building_id, grid_code, community_code,
        street_code, district_code, responsible_area_code, grid_version_id, community_version_id,
        street_version_id, district_version_id, department_code, rule_id, assignment, due_at,
        idempotency_key, request_hash, is_demo, reported_at, updated_at)
    SELECT %(id)s, %(public_id)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),
        %(x)s, %(y)s, %(crs)s,
        %(category)s, %(description)s, %(source)s, %(reporter)s, %(user_id)s, 'reported',
        %(method)s, %(distance_m)s, %(building_id)s, %(grid)s, %(community)s, %(street)s,
        %(district)s, %(responsible)s, %(grid_v)s, %(community_v)s, %(street_v)s, %(district_v)s,
        %(department)s, %(rule_id)s, %(assignment)s, %(due_at)s, %(key)s, %(hash)s, %(is_demo)s,
        %(now)s, %(now)s
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, public_id
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                                 department_code, note, data)
    SELECT id, %(now)s, %(actor)s, 'report', NULL, 'reported', %(department)s, NULL, %(ev_data)s
    FROM inc
)
SELECT public_id, pg_notify('gridgov_incidents', public_id) FROM inc
"""


@dataclass
class IntakeResult:
    """The stored incident and whether this call created it (False: idempotent replay)."""

    incident: dict[str, Any]
    created: bool


def calendar_from(settings: CalendarSettings) -> WorkingCalendar:
    """The working calendar described by settings."""
    return WorkingCalendar(
        tz=ZoneInfo(settings.timezone),
        weekdays=frozenset(d - 1 for d in settings.weekdays),
        day_start=settings.day_start,
        day_end=settings.day_end,
        holidays=frozenset(settings.holidays),
        extra_workdays=frozenset(settings.extra_workdays),
    )


def request_hash(report: IncidentIn) -> str:
    """A stable digest of the report body, to tell a replay from a reused key."""
    return hashlib.sha256(dumps(report.model_dump(mode="json"))).hexdigest()


def _replay(conn: Connection[Any], key: str, digest: str) -> IntakeResult:
    row = conn.execute(
        "SELECT public_id, request_hash FROM incidents WHERE idempotency_key = %s", (key,)
    ).fetchone()
    assert row is not None
    if row["request_hash"] != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different report. "
            "Use a new key for a new report.",
            {"incident": row["public_id"]},
        )
    return IntakeResult(incident_detail(conn, row["public_id"]), created=False)


def report_incident(
    conn: Connection[Any],
    settings: Settings,
    report: IncidentIn,
    *,
    user: User | None,
    idempotency_key: str | None,
    is_demo: bool = False,
    now: dt.datetime | None = None,
) -> IntakeResult:
    """Store a report (or return the one stored under the same Idempotency-Key)."""
    digest = request_hash(report) if idempotency_key else None
    if idempotency_key and digest:
        seen = conn.execute(
            "SELECT 1 FROM incidents WHERE idempotency_key = %s", (idempotency_key,)
        ).fetchone()
        if seen:
            return _replay(conn, idempotency_key, digest)

    x, y, crs_name = report.xy_crs()
    crs = normalize_crs(crs_name)
    lon, lat = to_wgs84(x, y, crs)

    category = conn.execute(
        "SELECT code, time_limit, time_unit FROM categories WHERE code = %s",
        (report.category,),
        prepare=True,
    ).fetchone()
    if category is None:
        raise UnknownCategory(
            f"Unknown category '{report.category}'. GET /api/v1/categories lists the valid codes.",
            {"category": report.category},
        )

    a = settings.assignment
    assignment = assign_point(
        conn,
        lon,
        lat,
        category=report.category,
        nearest_m=a.nearest_grid_m,
        near_m=a.near_boundary_m,
    )
    # 4+X: a local ("X") category may only be reported inside its area (services/catalogue).
    require_in_catalogue(conn, report.category, chain_of(assignment))
    answer = assignment.as_json(report.category)
    reported_at = now or dt.datetime.now(dt.UTC)
    department = answer["department"]
    new_id, public_id = _new_ids(conn, reported_at, settings.calendar.timezone)
    params = {
        "id": new_id,
        "public_id": public_id,
        "lon": lon,
        "lat": lat,
        "x": x,
        "y": y,
        "crs": crs,
        "category": report.category,
        "description": report.description,
        "source": report.source,
        "reporter": Jsonb(report.reporter.model_dump(exclude_none=True) if report.reporter else {}),
        "user_id": user.id if user else None,
        "method": assignment.method,
        "distance_m": assignment.distance_m,
        "building_id": assignment.building["id"] if assignment.building else None,
        "grid": assignment.code("grid"),
        "community": assignment.code("community"),
        "street": assignment.code("street"),
        "district": assignment.code("district"),
        "responsible": assignment.responsible_area_code,
        "grid_v": assignment.version_id("grid"),
        "community_v": assignment.version_id("community"),
        "street_v": assignment.version_id("street"),
        "district_v": assignment.version_id("district"),
        "department": department["code"] if department else None,
        "rule_id": answer["rule"]["id"] if answer["rule"] else None,
        "assignment": Jsonb(answer),
        "due_at": None,  # set at dispatch (api.services.workflow_actions.dispatch)
        "key": idempotency_key,
        "hash": digest,
        "is_demo": is_demo,
        "now": reported_at,
        "actor": user.name if user else "public",
        "ev_data": Jsonb({"source": report.source, "method": assignment.method}),
    }
    inserted = conn.execute(INSERT_SQL, params).fetchone()
    if inserted is None:  # a concurrent request with the same key won the race
        assert idempotency_key and digest
        return _replay(conn, idempotency_key, digest)
    invalidate_tiles(conn, (lon, lat, lon, lat), "incidents")  # incident tiles at this point
    doc = incident_detail(conn, inserted["public_id"])
    # 源头治理: open incidents like this one close by, for the dispatcher (services/duplicates).
    doc["possible_duplicates"] = possible_duplicates(
        conn,
        settings.early_warning,
        public_id=inserted["public_id"],
        lon=lon,
        lat=lat,
        category=report.category,
        now=reported_at,
    )
    return IntakeResult(doc, created=True)


def _new_ids(conn: Connection[Any], at: dt.datetime, tz: str) -> tuple[int, str]:
    """Row id and readable case number: local report date + the id, e.g. 20261125-000042."""
    row = conn.execute("SELECT nextval('incidents_id_seq') AS n", prepare=True).fetchone()
    assert row is not None
    n = int(row["n"])
    return n, f"{at.astimezone(ZoneInfo(tz)):%Y%m%d}-{n:06d}"
