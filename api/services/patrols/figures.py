"""Patrol figures in the evaluation (综合评价): coverage columns on grid rows of /api/v1/stats
and its CSV, the unpatrolled grids on the negative list, and GET /api/v1/patrols/coverage.

Kept apart from api/services/stats*.py (being reworked for speed): those documents are built
first, then these functions add to them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.dates import MAX_YEAR, MIN_YEAR, check_year
from api.errors import BadRequest, Forbidden
from api.services.identity.auth import User
from api.services.patrols.coverage import coverage, period_rows, unpatrolled_grids
from api.settings import Settings
from gis.patrols import GRIDS_SQL
from web_map.i18n import CHINESE, N_, Translator

PATROL_METRICS = (
    # key, zh, en (catalogue id), kind, good
    ("patrol_km", "巡查里程（公里）", N_("patrol distance (km)"), "count", "up"),
    ("patrol_hours", "巡查时长（小时）", N_("patrol time (hours)"), "hours", "up"),
    ("patrol_coverage", "巡查覆盖率", N_("patrol coverage"), "rate", "up"),
)
MAX_COVERAGE_DAYS = 92


def coverage_scope(user: User) -> str | None:
    """Admins: every grid (None); dispatchers: grids under their area; others: 403."""
    if user.role == "admin":
        return None
    if user.role == "dispatcher" and user.area_code:
        return user.area_code
    raise Forbidden(
        "Patrol coverage is for admins and dispatchers (their area).", {"role": user.role}
    )


def grids_under(conn: Connection[Any], root: str | None) -> dict[str, str]:
    return {r["code"]: r["name"] for r in conn.execute(GRIDS_SQL, {"root": root}).fetchall()}


def coverage_document(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    first: dt.date | None,
    last: dt.date,
    interval: str,
) -> dict[str, Any]:
    """Per grid of the caller's scope and day/week: distance, time, patrols, covered share.

    `first` defaults to six days before `last` (a week).
    """
    root = coverage_scope(user)
    try:
        check_year(last)
        first = first or last - dt.timedelta(days=6)
        check_year(first)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"Dates must lie between the years {MIN_YEAR} and {MAX_YEAR}.") from exc
    if last < first:
        raise BadRequest("from must be earlier than to.")
    if (last - first).days >= MAX_COVERAGE_DAYS:
        raise BadRequest(f"A period is at most {MAX_COVERAGE_DAYS} days long.")
    grids = grids_under(conn, root)
    rows = [
        r | {"name": grids[r["grid"]]}
        for r in coverage(conn, settings, first, last, interval)
        if r["grid"] in grids
    ]
    return {
        "from": first,
        "to": last,
        "interval": interval,
        "buffer_m": settings.patrols.patrol_buffer_m,
        "rows": rows,
        "definitions": "docs/metrics.md",
    }


# The CSV's columns: the JSON's key, and its header in the caller's language (a catalogue id)
CSV_COLUMNS = (
    ("grid", N_("Grid")),
    ("name", N_("Name")),
    ("start", N_("Day or week")),
    ("distance_m", N_("Patrol distance (m)")),
    ("seconds", N_("Patrol time (s)")),
    ("patrols", N_("Patrols")),
    ("covered_share", N_("Covered share")),
)


def coverage_csv(doc: dict[str, Any], tr: Translator = CHINESE, *, codes: bool = False) -> str:
    """The coverage rows as CSV (UTF-8 BOM first, for Excel): the header in `tr`'s language, or
    with `codes` the JSON's keys (a stable form for scripts, in any language)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([key if codes else tr(label) for key, label in CSV_COLUMNS])
    for row in doc["rows"]:
        writer.writerow(["" if row[k] is None else text_cell(row[k]) for k, _ in CSV_COLUMNS])
    return "\ufeff" + buf.getvalue()


def text_cell(value: Any) -> Any:
    """A text cell Excel will not run as a formula (CSV injection); numbers as they are."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def add_patrol_figures(
    conn: Connection[Any],
    settings: Settings,
    doc: dict[str, Any],
    start: dt.datetime,
    as_of: dt.datetime,
    tr: Translator = CHINESE,
) -> None:
    """Patrol columns on the grid rows of a statistics document (group_by=area, level=grid),
    over the local days of [start, as_of); the total sums distance and time; their labels in
    `tr`'s language."""
    if doc.get("group_by") != "area" or doc.get("level") != "grid":
        return
    tz = ZoneInfo(settings.calendar.timezone)
    # [start, as_of) ends at the next midnight for a past period: its last day is the one before
    first = start.astimezone(tz).date()
    last = (as_of - dt.timedelta(microseconds=1)).astimezone(tz).date()
    rows = period_rows(conn, settings, first, last + dt.timedelta(days=1), by_day=False)
    by_grid = {r["grid"]: r for r in rows}
    listed = [by_grid[r["code"]] for r in doc["rows"] if r["code"] in by_grid]
    total = {
        "distance_m": sum(r["distance_m"] for r in listed),
        "seconds": sum(r["seconds"] for r in listed),
        "covered_share": None,
    }

    def columns(fig: dict[str, Any]) -> dict[str, Any]:
        return {
            "patrol_km": round(fig.get("distance_m", 0.0) / 1000, 3),
            "patrol_hours": round(fig.get("seconds", 0.0) / 3600, 2),
            "patrol_coverage": fig.get("covered_share"),
        }

    unpatrolled = columns({})  # the grids nobody walked (most rows of a city: computed once)
    for row in doc["rows"]:
        fig = by_grid.get(row["code"] or "")
        row.update(unpatrolled if fig is None else columns(fig))
    doc["total"].update(columns(total))
    doc["metrics"] += [
        {"key": k, "label": tr(en), "kind": kind, "good": good}
        for k, _zh, en, kind, good in PATROL_METRICS
    ]


# The reason of a grid not patrolled lately, in the caller's language
NEVER_PATROLLED = N_("Never patrolled (limit: {max} days)")
NOT_PATROLLED = N_("Not patrolled for {n} days (more than {max})")


def add_unpatrolled_flags(
    conn: Connection[Any],
    settings: Settings,
    doc: dict[str, Any],
    user: User,
    as_of: dt.datetime,
    tr: Translator = CHINESE,
) -> None:
    """Grids not patrolled for GRIDGOV_PATROL_MAX_GAP_DAYS before `as_of` join the negative list
    (admins; dispatchers: their area) — once patrols are in use (some patrol recorded); their
    reason's message in `tr`'s language."""
    if user.role not in ("admin", "dispatcher") or (user.role != "admin" and not user.area_code):
        return
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM patrols) OR EXISTS (SELECT 1 FROM patrol_grid_days) AS used"
    ).fetchone()
    if not (row and row["used"]):
        return
    root = None if user.role == "admin" else user.area_code
    today = as_of.astimezone(ZoneInfo(settings.calendar.timezone)).date()
    gap = settings.patrols.patrol_max_gap_days
    listed = {(f["kind"], f["code"]): f for f in doc["flags"]}
    for g in unpatrolled_grids(conn, settings, today, root):
        if g["days"] is None:
            message = tr(NEVER_PATROLLED, max=gap)
        else:
            message = tr(NOT_PATROLLED, n=g["days"], max=gap)
        reason = {
            "metric": "patrol_gap_days",
            "value": g["days"],
            "threshold": gap,
            "last_patrolled": g["last_patrolled"],
            "message": message,
        }
        flag = listed.get(("area", g["code"]))
        if flag is None:
            flag = {
                "kind": "area",
                "level": "grid",
                "code": g["code"],
                "name": g["name"],
                "reasons": [],
                "figures": {},
            }
            doc["flags"].append(flag)
        flag["reasons"].append(reason)
    doc.setdefault("thresholds", {})["patrol_max_gap_days"] = gap
