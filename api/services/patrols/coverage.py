"""Patrol coverage per grid and day/week, grids not patrolled lately, and the retention prune.

Definitions: docs/metrics.md (巡查覆盖). The live figures come from the fixes (gis.patrols.
COVERAGE_SQL); days whose fixes were pruned (GRIDGOV_TRACK_RETENTION_DAYS) are read from
`patrol_grid_days`, which the prune fills with the same query before deleting the fixes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.settings import Settings
from gis.patrols import COVERAGE_SQL, LAST_PATROLLED_SQL

FOREVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def has_roads(conn: Connection[Any]) -> bool:
    """Whether the base map holds streets (then coverage measures street length)."""
    row = conn.execute("SELECT to_regclass('basemap_roads') IS NOT NULL AS t").fetchone()
    if not (row and row["t"]):
        return False
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM basemap_roads) AS r").fetchone()
    return bool(row and row["r"])


def live_coverage(
    conn: Connection[Any],
    settings: Settings,
    since: dt.datetime,
    until: dt.datetime,
    *,
    by_day: bool,
) -> list[dict[str, Any]]:
    """Rows {grid_code, day, distance_m, seconds, patrols, covered_share} from the fixes."""
    cfg = settings.patrols
    rows = conn.execute(
        COVERAGE_SQL,
        {
            "since": since,
            "until": until,
            "max_seg": cfg.patrol_max_segment_s,
            "patrol": None,
            "by_day": by_day,
            "tz": settings.calendar.timezone,
            "buffer_m": cfg.patrol_buffer_m,
            "roads": has_roads(conn),
        },
    ).fetchall()
    return [dict(r) for r in rows]


def local_day_start(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), ZoneInfo(tz))


def period_rows(
    conn: Connection[Any], settings: Settings, b0: dt.date, b1: dt.date, *, by_day: bool
) -> list[dict[str, Any]]:
    """Local days [b0, b1): per grid (and day when `by_day`), live fixes plus pruned days.
    Over a period, the covered share is that of the union of its tracks; a pruned day
    contributes its own share as a lower bound (the union is gone with the fixes)."""
    tz = settings.calendar.timezone
    rows = live_coverage(
        conn, settings, local_day_start(b0, tz), local_day_start(b1, tz), by_day=by_day
    )
    pruned = conn.execute(
        "SELECT grid_code, day, distance_m, seconds, patrols, covered_share "
        "FROM patrol_grid_days WHERE day >= %s AND day < %s",
        (b0, b1),
    ).fetchall()
    merged: dict[tuple[str, dt.date], dict[str, Any]] = {}
    for r in [*rows, *pruned]:
        key = (r["grid_code"], r["day"] if by_day else b0)
        cur = merged.setdefault(
            key,
            {
                "grid": key[0],
                "start": key[1],
                "distance_m": 0.0,
                "seconds": 0.0,
                "patrols": 0,
                "covered_share": None,
            },
        )
        cur["distance_m"] += float(r["distance_m"])
        cur["seconds"] += float(r["seconds"])
        cur["patrols"] += int(r["patrols"])
        if r["covered_share"] is not None:
            cur["covered_share"] = max(cur["covered_share"] or 0.0, float(r["covered_share"]))
    out = [merged[k] for k in sorted(merged)]
    for r in out:
        r["distance_m"] = round(r["distance_m"], 1)
        r["seconds"] = round(r["seconds"], 1)
        if r["covered_share"] is not None:
            r["covered_share"] = round(min(r["covered_share"], 1.0), 4)
    return out


def coverage(
    conn: Connection[Any],
    settings: Settings,
    first: dt.date,
    last: dt.date,
    interval: str,
) -> list[dict[str, Any]]:
    """Per grid and local day (interval `day`) or Monday week (`week`), days first..last."""
    if interval == "day":
        return period_rows(conn, settings, first, last + dt.timedelta(days=1), by_day=True)
    out: list[dict[str, Any]] = []
    start = first - dt.timedelta(days=first.weekday())
    while start <= last:
        out += period_rows(conn, settings, start, start + dt.timedelta(days=7), by_day=False)
        start += dt.timedelta(days=7)
    return out


def unpatrolled_grids(
    conn: Connection[Any], settings: Settings, today: dt.date, root: str | None
) -> list[dict[str, Any]]:
    """Grids under `root` with no clean patrol fix on any of the GRIDGOV_PATROL_MAX_GAP_DAYS days
    before `today` (nor today): {code, name, last_patrolled, days} — days None when never."""
    gap = settings.patrols.patrol_max_gap_days
    rows = conn.execute(
        LAST_PATROLLED_SQL, {"tz": settings.calendar.timezone, "root": root}
    ).fetchall()
    out = []
    for r in rows:
        last = r["last_day"]
        if last is None or (today - last).days > gap:
            days = None if last is None else (today - last).days
            out.append({"code": r["code"], "name": r["name"], "last_patrolled": last, "days": days})
    return out


def prune_tracks(conn: Connection[Any], settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Reduce fixes older than GRIDGOV_TRACK_RETENTION_DAYS (whole local days) to daily
    per-grid figures in patrol_grid_days, then delete them; one transaction."""
    tz = settings.calendar.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    cutoff = local_day_start(today - dt.timedelta(days=settings.patrols.track_retention_days), tz)
    with conn.transaction():
        oldest = conn.execute(
            "SELECT min(at) AS t FROM patrol_fixes WHERE at < %s", (cutoff,)
        ).fetchone()
        if oldest is None or oldest["t"] is None:
            return {"cutoff": cutoff, "days": 0, "fixes": 0}
        rows = live_coverage(conn, settings, oldest["t"], cutoff, by_day=True)
        for r in rows:
            conn.execute(
                "INSERT INTO patrol_grid_days AS d (grid_code, day, distance_m, seconds, "
                "covered_share, patrols) VALUES (%(grid_code)s, %(day)s, %(distance_m)s, "
                "%(seconds)s, %(covered_share)s, %(patrols)s) ON CONFLICT (grid_code, day) DO "
                "UPDATE SET distance_m = d.distance_m + excluded.distance_m, "
                "seconds = d.seconds + excluded.seconds, patrols = d.patrols + excluded.patrols, "
                "covered_share = greatest(d.covered_share, excluded.covered_share)",
                r,
            )
        deleted = conn.execute("DELETE FROM patrol_fixes WHERE at < %s", (cutoff,)).rowcount
    return {"cutoff": cutoff, "days": len({r["day"] for r in rows}), "fixes": deleted}
