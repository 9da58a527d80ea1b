"""Report intake: normalise the location, assign it, route it, store incident + first event."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.types.json import Jsonb

from api.errors import IdempotencyConflict, UnknownCategory
from api.responses import dumps
from api.schemas.incidents import IncidentIn
from api.services.identity.auth import User
from api.services.identity.policy import incident_view
from api.services.intake.catalogue import chain_of, require_in_catalogue
from api.services.intake.duplicates import suggestions
from api.services.interop.tile_cache import invalidation as tile_invalidation
from api.services.patrols.store import check_patrol_report, link_report
from api.services.workflow.deadlines import WorkingCalendar
from api.services.workflow.incidents import fields_of
from api.services.workflow.view import incident_document
from api.settings import CalendarSettings, Settings
from gis.assign import ASSIGN_SQL, assign_params, assignment_from
from gis.crs import normalize_crs, to_wgs84
from gis.duplicates import NEARBY_OPEN_SQL, nearby_open_params
from gis.errors import InvalidCoordinates

# Assignment plus intake's category checks in one round trip: ASSIGN_SQL with two more columns
# that read the category and test the 4+X catalogue over the chain of areas (`up`) the
# assignment just found. Separately, these were two more statements (the category lookup and
# services.catalogue.OWNER_SQL). Derived from ASSIGN_SQL so the rules cannot drift apart.
_ASSIGN_TAIL = "    END AS swapped_inside\n"
_CATEGORY_COLUMNS = """    END AS swapped_inside,
    EXISTS (SELECT 1 FROM categories WHERE code = %(category)s) AS category_known,
    -- the test of services.catalogue.OWNER_SQL (`available`), on the chain `up` of ASSIGN_SQL
    -- (correlated primary-key probes, not a join: a hash join builds a table per report)
    (SELECT (c.area_code IS NULL OR c.area_code IN (SELECT code FROM up))
            AND (c.parent_code IS NULL OR (
                SELECT p.area_code IS NULL OR p.area_code IN (SELECT code FROM up)
                FROM categories p WHERE p.code = c.parent_code))
     FROM categories c
     WHERE c.code = %(category)s) AS category_available
"""
if ASSIGN_SQL.count(_ASSIGN_TAIL) != 1:
    raise RuntimeError("ASSIGN_SQL changed: update intake's INTAKE_ASSIGN_SQL")
INTAKE_ASSIGN_SQL = ASSIGN_SQL.replace(_ASSIGN_TAIL, _CATEGORY_COLUMNS)

# Incident, first event, both notifications and the response document in one round trip
# (before: nextval, this INSERT, the tile NOTIFY and incident_detail's read-back).
INSERT_SQL = """
WITH new_id AS (
    -- The id explicitly first, so the readable case number can be built from it below.
    SELECT nextval('incidents_id_seq') AS n
), inc AS (
    INSERT INTO incidents (
        id, public_id, geom, orig_x, orig_y, orig_crs, category_code, description, source, reporter,
        reporter_user_id, status, method, distance_m, building_id, grid_code, community_code,
        street_code, district_code, responsible_area_code, grid_version_id, community_version_id,
        street_version_id, district_version_id, department_code, rule_id, assignment, due_at,
        idempotency_key, request_hash, is_demo, reported_at, updated_at)
    SELECT new_id.n,
        -- case number: local report date + the id, e.g. 20261125-000042 (lpad would cut an id
        -- longer than 6 digits, so the width grows with it, as Python's {n:06d} did)
        to_char(%(now)s::timestamptz AT TIME ZONE %(tz)s, 'YYYYMMDD') || '-'
            || lpad(new_id.n::text, greatest(6, length(new_id.n::text)), '0'),
        ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),
        %(x)s, %(y)s, %(crs)s,
        %(category)s, %(description)s, %(source)s, %(reporter)s, %(user_id)s, 'reported',
        %(method)s, %(distance_m)s, %(building_id)s, %(grid)s, %(community)s, %(street)s,
        %(district)s, %(responsible)s, %(grid_v)s, %(community_v)s, %(street_v)s, %(district_v)s,
        %(department)s, %(rule_id)s, %(assignment)s, %(due_at)s, %(key)s, %(hash)s, %(is_demo)s,
        %(now)s, %(now)s
    FROM new_id
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING *
), ev AS (
    INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                                 department_code, note, data)
    SELECT id, %(now)s, %(actor)s, 'report', NULL, 'reported', %(department)s, NULL, %(ev_data)s
    FROM inc
    RETURNING *
), dup AS (
    -- 源头治理: the duplicate search of services.duplicates.possible_duplicates, here to save
    -- a round trip. This statement's snapshot cannot see the incident it inserts, so the search
    -- runs with exclude = '' (no public id is empty) and finds what it found after the INSERT.
    {nearby}
)
-- The document of workflow.incidents.DETAIL_SQL (full view, the same `fields_of`), built from
-- what the INSERTs returned: a CTE's new rows are invisible to the rest of the statement, and a
-- fresh incident has exactly one event (this one), no due time and so is not overdue.
SELECT jsonb_build_object({fields}
    'category', (SELECT jsonb_build_object('code', c.code, 'name', c.name)
                 FROM categories c WHERE c.code = inc.category_code),
    'reporter', inc.reporter,
    'events', jsonb_build_array(jsonb_build_object(
        'id', ev.id, 'at', ev.at, 'action', ev.action, 'from_status', ev.from_status,
        'to_status', ev.to_status, 'department', ev.department_code, 'actor', ev.actor,
        'note', ev.note, 'data', ev.data))
) AS doc,
    -- both notifications (live incident streams, then other processes' tile caches) in this
    -- statement; NOTIFY is delivered on commit, in this order, as with separate statements
    pg_notify('gridgov_incidents', inc.public_id) AS incident_notified,
    pg_notify('gridgov_tiles', %(tiles)s) AS tiles_notified,
    -- the suggestions as parallel arrays, so each value keeps its type (timestamptz, float8)
    (SELECT array_agg(d.id ORDER BY d.distance_m, d.reported_at, d.row_id) FROM dup d) AS dup_id,
    (SELECT array_agg(d.status ORDER BY d.distance_m, d.reported_at, d.row_id) FROM dup d)
        AS dup_status,
    (SELECT array_agg(d.reported_at ORDER BY d.distance_m, d.reported_at, d.row_id) FROM dup d)
        AS dup_reported_at,
    (SELECT array_agg(d.distance_m ORDER BY d.distance_m, d.reported_at, d.row_id) FROM dup d)
        AS dup_distance_m
FROM inc JOIN ev ON ev.incident_id = inc.id
"""
# NEARBY_OPEN_SQL with the row id as a last tie-break column (its ORDER BY ends with i.id).
_NEARBY_HEAD = "SELECT i.public_id AS id,"
if NEARBY_OPEN_SQL.count(_NEARBY_HEAD) != 1:
    raise RuntimeError("NEARBY_OPEN_SQL changed: update intake's INSERT_SQL")
INSERT_SQL = INSERT_SQL.replace(
    "{nearby}", NEARBY_OPEN_SQL.replace(_NEARBY_HEAD, "SELECT i.id AS row_id, i.public_id AS id,")
).replace("{fields}", fields_of("inc"))


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


def request_hash(report: IncidentIn, photos: Sequence[str] = ()) -> str:
    """A stable digest of the report body (and its photos' SHA-256s, in order), to tell a replay
    from a reused key; without photos it is the digest of the body alone, as it always was."""
    body: Any = report.model_dump(mode="json")
    if photos:
        body = {"report": body, "photos": list(photos)}
    return hashlib.sha256(dumps(body)).hexdigest()


def _replay(
    conn: Connection[Any],
    key: str,
    digest: str,
    user: User | None,
    seen: dict[str, Any] | None = None,
) -> IntakeResult:
    """The incident stored under `key`, as this caller may see it (GET's view, not intake's).

    Whoever sends a known key and body is not necessarily who reported: the answer is the view
    a fresh GET by this caller gets, and a reused key names its incident only to a caller who
    may see that incident in full.
    """
    row = (
        seen
        or conn.execute(
            "SELECT public_id, request_hash FROM incidents WHERE idempotency_key = %s", (key,)
        ).fetchone()
    )
    assert row is not None
    public_id = row["public_id"]
    full = incident_view(conn, user, public_id) == "full"
    if row["request_hash"] != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different report. "
            "Use a new key for a new report.",
            {"incident": public_id} if full else {},
        )
    return IntakeResult(incident_document(conn, public_id, user, full=full), created=False)


def intake_assign_params(
    settings: Settings, category: str, lon: float, lat: float
) -> dict[str, Any]:
    """INTAKE_ASSIGN_SQL's parameters for a report of `category` at a WGS 84 point."""
    a = settings.assignment
    return assign_params(
        lon,
        lat,
        category=category,
        by_class=False,
        nearest_m=a.nearest_grid_m,
        near_m=a.near_boundary_m,
    )


def report_incident(
    conn: Connection[Any],
    settings: Settings,
    report: IncidentIn,
    *,
    user: User | None,
    idempotency_key: str | None,
    is_demo: bool = False,
    now: dt.datetime | None = None,
    photo_hashes: Sequence[str] = (),
) -> IntakeResult:
    """Store a report (or return the one stored under the same Idempotency-Key)."""
    digest = request_hash(report, photo_hashes) if idempotency_key else None
    if idempotency_key and digest:
        # only with a key: a replay is answered without assigning again (this row serves it)
        seen = conn.execute(
            "SELECT public_id, request_hash FROM incidents WHERE idempotency_key = %s",
            (idempotency_key,),
        ).fetchone()
        if seen:
            return _replay(conn, idempotency_key, digest, user, seen)

    if report.patrol is not None:  # 大联勤: found on a patrol (api/services/patrols)
        check_patrol_report(conn, user, report.patrol, report.source)
    x, y, crs_name = report.xy_crs()
    crs = normalize_crs(crs_name)
    lon, lat = to_wgs84(x, y, crs)

    try:
        params = intake_assign_params(settings, report.category, lon, lat)
    except InvalidCoordinates:
        _require_category(conn, report.category)  # an unknown category is still told first
        raise
    rec = conn.execute(INTAKE_ASSIGN_SQL, params, prepare=True).fetchone()
    assert rec is not None
    if not rec["category_known"]:
        raise _unknown_category(report.category)
    assignment = assignment_from(rec, lon, lat)
    if not rec["category_available"]:
        # 4+X refusal: the rare path re-reads the owner to explain it (services/catalogue).
        require_in_catalogue(conn, report.category, chain_of(assignment))
    answer = assignment.as_json(report.category)
    reported_at = now or dt.datetime.now(dt.UTC)
    department = answer["department"]
    params = {
        "tz": settings.calendar.timezone,
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
        "due_at": None,  # set at dispatch (api.services.workflow.actions.dispatch)
        "key": idempotency_key,
        "hash": digest,
        "is_demo": is_demo,
        "now": reported_at,
        "actor": user.name if user else "public",
        "ev_data": Jsonb({"source": report.source, "method": assignment.method}),
        # incident tiles at this point: dropped here now, other processes hear it on commit
        "tiles": tile_invalidation((lon, lat, lon, lat), "incidents"),
    }
    early = settings.early_warning
    params |= nearby_open_params(
        lon=lon,
        lat=lat,
        category=report.category,
        radius_m=early.duplicate_radius_m,
        since=reported_at - dt.timedelta(hours=early.duplicate_hours),
        until=reported_at,
        exclude="",
    )
    inserted = conn.execute(INSERT_SQL, params, prepare=True).fetchone()
    if inserted is None:  # a concurrent request with the same key won the race
        assert idempotency_key and digest
        return _replay(conn, idempotency_key, digest, user)
    doc: dict[str, Any] = inserted["doc"]
    if report.patrol is not None:
        link_report(conn, report.patrol, doc["id"])
    # 源头治理: open incidents like this one close by, for the dispatcher (services/duplicates).
    found = zip(
        inserted["dup_id"] or (),
        inserted["dup_status"] or (),
        inserted["dup_reported_at"] or (),
        inserted["dup_distance_m"] or (),
        strict=True,
    )
    rows = [{"id": i, "status": s, "reported_at": t, "distance_m": d} for i, s, t, d in found]
    doc["possible_duplicates"] = suggestions(rows, reported_at)
    return IntakeResult(doc, created=True)


def _unknown_category(code: str) -> UnknownCategory:
    return UnknownCategory(
        f"Unknown category '{code}'. GET /api/v1/categories lists the valid codes.",
        {"category": code},
    )


def _require_category(conn: Connection[Any], code: str) -> None:
    """UnknownCategory unless `code` is a category."""
    if conn.execute("SELECT 1 FROM categories WHERE code = %s", (code,)).fetchone() is None:
        raise _unknown_category(code)
