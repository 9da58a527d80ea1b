"""Open311 service requests: reporting through the shared intake, and reading incidents back.

A POST goes through `report_incident` exactly as a JSON report does (same routing, deadline,
first event, NOTIFY and Idempotency-Key rules), with source 'open311'. Answers to the
category's attributes are kept in `incidents.attributes`, written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection, sql
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from api.errors import BadRequest, IdempotencyConflict, NotFound
from api.open311.forms import RequestForm, RequestQuery, form_location
from api.open311.schemas import Answer, check_answers
from api.open311.services import get_service, limit_text
from api.schemas.incidents import IncidentIn, LonLat, Reporter
from api.services.identity.auth import User
from api.services.identity.policy import incident_view
from api.services.intake.outcome import PUBLIC_STEPS, REJECT_TEXT
from api.services.photos.incident_photos import PHOTO_URL, save_photos
from api.services.photos.intake import check_photos, report_checked
from api.services.photos.store import PhotoWrites
from api.services.reference import unknown_codes
from api.settings import Settings
from gis.features import Filters
from web_map.i18n import CHINESE, N_, Translator

MAX_DESCRIPTION = 4000
MAX_URL = 2000
CLOSED = ("closed", "rejected")

# A report's public face: category, department, the newest event, and the location.
REQUESTS_SQL = """
SELECT t.public_id, t.status, t.category_code, c.name AS service_name, t.description,
       c.time_limit, c.time_unit,
       d.name AS agency, t.reported_at, t.updated_at, t.due_at, t.assignment,
       ST_Y(t.geom) AS lat, ST_X(t.geom) AS lon, ev.action AS last_action, ev.note AS last_note,
       t.media_url,
       -- media_url: the first public photo (services/photos.PUBLIC_STAGES; report before after)
       (SELECT p.id FROM incident_photos p
        WHERE p.incident_id = t.id AND p.stage IN ('report', 'after') AND p.hidden_at IS NULL
        ORDER BY p.stage = 'report' DESC, p.id LIMIT 1) AS photo_id,
       ev.reason AS last_reason, ev.duplicate_of AS last_duplicate_of
FROM incidents t
JOIN categories c ON c.code = t.category_code
LEFT JOIN departments d ON d.code = t.department_code
LEFT JOIN LATERAL (
    -- The newest step a reporter sees (not an urge, whistle or rating after it).
    SELECT e.action, e.note, e.data ->> 'reason' AS reason,
           e.data ->> 'duplicate_of' AS duplicate_of
    FROM incident_events e
    WHERE e.incident_id = t.id AND e.action IN ({public_steps})
    ORDER BY e.id DESC LIMIT 1
) ev ON true
WHERE {where}
ORDER BY t.reported_at DESC, t.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""

# Notes of these actions are written for the reporter (a reason for rejecting or suspending,
# what was done); notes of internal steps (return, escalate, dispatch, extensions) stay inside.
PUBLIC_NOTE_ACTIONS = {"reject", "handle", "self_handle", "verify", "suspend", "reopen"}

# What the resident's app shows (`status_notes`, `service_notice`): catalogue ids, told in the
# caller's language (Accept-Language; Chinese by default)
STATUS_PHRASES = {
    "reported": N_("Reported; waiting to be registered by the command centre."),
    "registered": N_("Registered by the command centre; waiting to be dispatched."),
    "dispatched": N_("Dispatched to {agency}."),
    "in_progress": N_("{agency} is working on it."),
    "handled": N_("Handled by {agency}; waiting for on-site verification."),
    "closed": N_("Closed after verification."),
    "rejected": N_("Rejected by the command centre."),
    "suspended": N_("Suspended."),
}
SOME_DEPARTMENT = N_("the responsible department")
DUPLICATE_OF = N_("{words} (original request: {original})")
WITH_NOTE = N_("{words}. {note}")
NOTICE_DUE = N_("{agency} is responsible; expected to be handled by {due}.")
NOTICE_LIMIT = N_("{agency} is responsible; handling time limit {limit} once dispatched.")
NOTICE_AGENCY = N_("{agency} is responsible.")
NOTICE_NONE = N_("The command centre will register and dispatch this request.")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def submit_request(
    conn: Connection[Any],
    settings: Settings,
    form: RequestForm,
    *,
    user: User,
    idempotency_key: str | None,
    writes: PhotoWrites,
    tr: Translator = CHINESE,
) -> tuple[list[dict[str, Any]], bool]:
    """POST requests: the Open311 answer (its notice in `tr`'s language) and whether a new
    incident was created."""
    code = form.get("service_code")
    if code is None:
        raise BadRequest("service_code is required. GET services.json lists the service codes.")
    service = get_service(conn, code)
    lon, lat, crs = form_location(form)
    attributes = service.extras().ordered() if service.has_attributes() else []
    answers, problems = check_answers(attributes, form.attributes, service.code)
    description = form.raw("description")
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description is limited to {MAX_DESCRIPTION} characters; got {len(description)}."
        )
    media_url = form.get("media_url")
    if media_url is not None and (
        len(media_url) > MAX_URL or not media_url.lower().startswith(("http://", "https://"))
    ):
        problems.append(f"media_url must be an http(s) URL of at most {MAX_URL} characters.")
    if problems:
        raise BadRequest(problems[0], {"problems": problems})
    # every photo is checked before anything is stored (issue 16)
    photos = check_photos(settings, form.media)
    try:
        report = IncidentIn(
            category=service.code,
            description=description,
            location=LonLat(lon=lon, lat=lat, crs=crs),
            source="open311",
            reporter=_reporter(form),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadRequest(f"Invalid {where}: {first.get('msg')}.") from exc

    # One transaction: the incident, its first event and the answers, or nothing.
    with conn.transaction():
        now = dt.datetime.now(dt.UTC)
        result = report_checked(
            conn,
            settings,
            report,
            photos,
            user=user,
            idempotency_key=idempotency_key,
            now=now,
            media_keys=[media_url] if media_url else [],
        )
        public_id = result.incident["id"]
        if result.created:
            row = conn.execute(
                "UPDATE incidents SET attributes = %s, media_url = %s WHERE public_id = %s "
                "RETURNING id",
                (Jsonb(answers), media_url, public_id),
            ).fetchone()
            assert row is not None
            save_photos(conn, settings, writes, row["id"], "report", photos, user, now)
        else:
            _check_replayed_answers(conn, public_id, answers, user)
    row = _rows(conn, _by_ids([public_id]), limit=1)[0]
    notice = service_notice(row, ZoneInfo(settings.calendar.timezone), tr)
    # account_id: GridGov keeps no client account ids; the api_key's user is the reporter.
    answer = {"service_request_id": public_id, "service_notice": notice, "account_id": None}
    return [answer], result.created


def _check_replayed_answers(
    conn: Connection[Any], public_id: str, answers: dict[str, Answer], user: User
) -> None:
    """A replayed Idempotency-Key must carry the same attribute answers as the first time."""
    row = conn.execute("SELECT attributes FROM incidents WHERE public_id = %s", (public_id,))
    stored = row.fetchone()
    if stored is None or stored["attributes"] != answers:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different report. "
            "Use a new key for a new report.",
            # named only to a caller who may see it in full (as on POST /api/v1/incidents)
            {"incident": public_id} if incident_view(conn, user, public_id) == "full" else {},
        )


def _reporter(form: RequestForm) -> Reporter | None:
    """The reporter from first_name, last_name, email, phone (Chinese names family first)."""
    first, last = form.get("first_name"), form.get("last_name")
    if first and last and _CJK.search(first + last):
        name: str | None = last + first
    else:
        name = " ".join(p for p in (first, last) if p) or None
    email, phone = form.get("email"), form.get("phone")
    if not (name or email or phone):
        return None
    return Reporter(name=name, email=email, phone=phone)


def get_request(
    conn: Connection[Any],
    settings: Settings,
    public_id: str,
    *,
    base: str = "",
    tr: Translator = CHINESE,
) -> list[dict[str, Any]]:
    """GET requests/{id}: a one-element list, as the spec has it; 404 when unknown."""
    rows = _rows(conn, _by_ids([public_id]), limit=1)
    if not rows:
        raise NotFound(f"service_request_id {public_id!r} was not found.")
    return [request_json(rows[0], ZoneInfo(settings.calendar.timezone), base, tr)]


def list_requests(
    conn: Connection[Any],
    settings: Settings,
    q: RequestQuery,
    *,
    base: str = "",
    tr: Translator = CHINESE,
) -> list[dict[str, Any]]:
    """GET requests: newest first, one page."""
    if q.ids is not None:
        rows = _rows(conn, _by_ids(q.ids), limit=len(q.ids))
    else:
        known = _known_services(conn, q.service_codes) if q.service_codes else None
        f = Filters()
        f.bbox(q.bbox)
        if known is not None:
            f.add("t.category_code = ANY(%(codes)s)", codes=known)
        if q.statuses == {"open"}:
            f.add("NOT (t.status = ANY(%(closed)s))", closed=list(CLOSED))
        elif q.statuses == {"closed"}:
            f.add("t.status = ANY(%(closed)s)", closed=list(CLOSED))
        f.add_given("t.reported_at >= %(start)s", start=q.start)
        f.add_given("t.reported_at <= %(end)s", end=q.end)
        f.add_given("t.updated_at >= %(after)s", after=q.updated_after)
        f.add_given("t.updated_at <= %(before)s", before=q.updated_before)
        rows = _rows(conn, f, limit=q.page_size, offset=(q.page - 1) * q.page_size)
    tz = ZoneInfo(settings.calendar.timezone)
    return [request_json(r, tz, base, tr) for r in rows]


def _known_services(conn: Connection[Any], codes: list[str]) -> list[str]:
    """The asked service codes, refusing unknown ones so a typo is not an empty answer."""
    unknown = unknown_codes(conn, "categories", codes)
    if unknown:
        raise BadRequest(
            f"Unknown service_code {', '.join(unknown)}. GET services.json lists the service codes."
        )
    return codes


def _by_ids(ids: list[str]) -> Filters:
    f = Filters()
    f.add("t.public_id = ANY(%(ids)s)", ids=ids)
    return f


def _rows(
    conn: Connection[Any], f: Filters, *, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    # Filters holds fixed SQL fragments (incidents as `t`, as in gis.features); values are bound.
    conds = f.conds or ["true"]
    where = sql.SQL(" AND ").join(sql.SQL(c) for c in conds)
    query = sql.SQL(REQUESTS_SQL).format(
        where=where, public_steps=sql.SQL(", ").join(map(sql.Literal, PUBLIC_STEPS))
    )
    return list(conn.execute(query, {**f.params, "limit": limit, "offset": offset}).fetchall())


def w3(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the service's time zone, to the second (e.g. 2025-01-31T08:00:00+08:00)."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def service_notice(row: dict[str, Any], tz: ZoneInfo, tr: Translator = CHINESE) -> str:
    """What will happen next, in `tr`'s language: who handles the request and by when."""
    agency, due = row["agency"], w3(row["due_at"], tz)
    limit = limit_text(row["time_limit"], row["time_unit"], tr)
    if agency and due:
        return tr(NOTICE_DUE, agency=agency, due=due)
    if agency and limit:
        return tr(NOTICE_LIMIT, agency=agency, limit=limit)
    if agency:
        return tr(NOTICE_AGENCY, agency=agency)
    return tr(NOTICE_NONE)


def status_notes(row: dict[str, Any], tr: Translator = CHINESE) -> str:
    """The newest event's note when it is meant for the public (as written), else the status in
    `tr`'s words."""
    note = (row["last_note"] or "").strip()
    if row["status"] == "rejected" and row.get("last_reason") in REJECT_TEXT:
        words = tr(REJECT_TEXT[row["last_reason"]])  # as the reporter's own view says it
        original = row.get("last_duplicate_of")
        if original:
            words = tr(DUPLICATE_OF, words=words, original=original)
        return tr(WITH_NOTE, words=words, note=note) if note else words
    if row["last_action"] in PUBLIC_NOTE_ACTIONS and note:
        return note
    if row["status"] not in STATUS_PHRASES:
        return str(row["status"])
    return tr(STATUS_PHRASES[row["status"]], agency=row["agency"] or tr(SOME_DEPARTMENT))


def address(assignment: dict[str, Any] | None) -> str | None:
    """Building, grid, community, street, district: most specific first, as the spec asks."""
    if not assignment:
        return None
    parts: list[str] = []
    building = assignment.get("building") or {}
    label = building.get("address") or building.get("name")
    if label:
        parts.append(str(label))
    for level in ("grid", "community", "street", "district"):
        entry = assignment.get(level) or {}
        if entry.get("name"):
            parts.append(str(entry["name"]))
    return ", ".join(parts) or None


def media_url(row: dict[str, Any], base: str) -> str | None:
    """The first public photo (absolute URL under `base`), else the media_url the client sent."""
    if row.get("photo_id") is not None:
        return base + PHOTO_URL.format(id=row["photo_id"])
    return row.get("media_url")


def request_json(
    row: dict[str, Any], tz: ZoneInfo, base: str = "", tr: Translator = CHINESE
) -> dict[str, Any]:
    """One incident as an Open311 request (public view: no contact data, no internal notes;
    its words in `tr`'s language)."""
    return {
        "service_request_id": row["public_id"],
        "status": "closed" if row["status"] in CLOSED else "open",
        "status_notes": status_notes(row, tr),
        "service_name": row["service_name"],
        "service_code": row["category_code"],
        "description": row["description"] or None,
        "agency_responsible": row["agency"],
        "service_notice": service_notice(row, tz, tr),
        "requested_datetime": w3(row["reported_at"], tz),
        "updated_datetime": w3(row["updated_at"], tz),
        "expected_datetime": w3(row["due_at"], tz),
        "address": address(row["assignment"]),
        "address_id": None,
        "zipcode": None,
        "lat": row["lat"],
        "long": row["lon"],
        "media_url": media_url(row, base),
    }
