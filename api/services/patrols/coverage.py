"""Patrol coverage per grid and day/week, grids not patrolled lately, and the retention prune.

Definitions: docs/metrics.md (巡查覆盖). The figures are folded as patrols are walked
(gis.patrol_cells): every batch of fixes marks its 15-minute pieces, and `fold` — run by each app
process every GRIDGOV_PATROL_FOLD_S (api/services/patrols/folder.py), by `gridgov patrols fold`
and before the prune — turns them into parts and grid-days. A period is then a read of its
grid-days (`period_rows`), whatever its length.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection

from api.settings import Settings
from gis.patrol_cells import (
    CHUNK_S,
    DELETE_PARTS_SQL,
    GRID_DAYS_SQL,
    LATTICES_SQL,
    MARK_ALL_SQL,
    OVERLAPS_SQL,
    PARTS_SQL,
    PERIOD_SQL,
    ROADS_SQL,
    TAKE_DIRTY_SQL,
)
from gis.patrols import LAST_PATROLLED_SQL

FOLD_LOCK = 0x6767_7061_7472  # one fold at a time, over every process ("ggpatr")
FOLD_PIECES = 2_000  # pieces per fold transaction: a few seconds at most
MAX_RANGE = 96  # pieces folded as one range at most: a day
MAX_CELLS = 262_144  # cells per lattice: 32 KB per grid-day at most


def local_day_start(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), ZoneInfo(tz))


def ranges(
    pieces: list[tuple[int, int]], closed_before: int, parts: list[tuple[int, int, int]]
) -> list[tuple[int, int, int]]:
    """The ranges (patrol, first piece, last piece) to fold for marked `pieces` (patrol, piece).

    Consecutive marked pieces of a patrol that are closed (before piece `closed_before`: no
    segment can start in them any more unless a late fix comes) form one range, at most
    MAX_RANGE pieces; a piece still walked is a range of its own (folded again each minute, it
    must stay small). A range then takes in every stored part it overlaps (`parts`: patrol,
    chunk, chunk_to), which is folded again whole."""
    out: list[list[int]] = []
    for patrol, chunk in sorted(set(pieces)):
        last = out[-1] if out else None
        if (
            last is not None
            and last[0] == patrol
            and last[2] + 1 == chunk
            and chunk < closed_before
            and chunk - last[1] < MAX_RANGE
        ):
            last[2] = chunk
        else:
            out.append([patrol, chunk, chunk])
    for patrol, c0, c1 in parts:
        for r in out:
            if r[0] == patrol and c0 <= r[2] and c1 >= r[1]:
                r[1], r[2] = min(r[1], c0), max(r[2], c1)
    merged: list[list[int]] = []
    for r in sorted(out):  # ranges that took in the same part now overlap: one range
        if merged and merged[-1][0] == r[0] and r[1] <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], r[2])
        else:
            merged.append(r)
    return [(p, c0, c1) for p, c0, c1 in merged]


def fold(
    conn: Connection[Any],
    settings: Settings,
    *,
    wait: bool = True,
    limit: int = FOLD_PIECES,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Fold up to `limit` marked pieces into parts and grid-days; one transaction.

    `wait`: wait for a fold running elsewhere (else return at once, {"busy": 1}). Pieces before
    `since` (the retention's cutoff: their fixes are pruned) are forgotten, not folded, so that
    a late fix cannot wipe a pruned day's figures. `now` (default: the clock) tells which pieces
    are closed (see `ranges`)."""
    cfg = settings.patrols
    now = now or dt.datetime.now(dt.UTC)
    closed_before = int(now.timestamp() - cfg.patrol_max_segment_s - 60) // CHUNK_S
    with conn.transaction():
        if wait:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (FOLD_LOCK,))
        else:
            row = conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS ok", (FOLD_LOCK,))
            if not (got := row.fetchone()) or not got["ok"]:
                return {"busy": 1, "pieces": 0, "parts": 0, "grid_days": 0}
        conn.execute("SET LOCAL jit = off")  # compiling these plans took seconds per fold
        taken = conn.execute(TAKE_DIRTY_SQL, {"limit": limit}).fetchall()
        first = int(since.timestamp()) // CHUNK_S if since is not None else None
        pieces = [
            (r["patrol_id"], r["chunk"]) for r in taken if first is None or r["chunk"] >= first
        ]
        if not pieces:
            return {"busy": 0, "pieces": len(taken), "parts": 0, "grid_days": 0}
        params: dict[str, Any] = {
            "cell_m": cfg.patrol_cell_m,
            "max_cells": MAX_CELLS,
            "tz": settings.calendar.timezone,
            "max_seg": cfg.patrol_max_segment_s,
            "buffer_m": cfg.patrol_buffer_m,
        }
        todo = ranges(pieces, closed_before, [])
        params |= _range_params(todo)
        stored = conn.execute(OVERLAPS_SQL, params).fetchall()
        todo = ranges(
            pieces, closed_before, [(r["patrol_id"], r["chunk"], r["chunk_to"]) for r in stored]
        )
        params |= _range_params(todo)
        conn.execute(LATTICES_SQL, params)
        gone = conn.execute(DELETE_PARTS_SQL, params).fetchall()
        made = conn.execute(PARTS_SQL, params).fetchall()
        touched = sorted({(r["grid_code"], r["day"]) for r in [*gone, *made]})
        conn.execute(
            GRID_DAYS_SQL,
            {"grids": [g for g, _ in touched], "days": [d for _, d in touched]},
        )
    return {"busy": 0, "pieces": len(taken), "parts": len(made), "grid_days": len(touched)}


def _range_params(todo: list[tuple[int, int, int]]) -> dict[str, list[int]]:
    return {
        "patrols": [p for p, _, _ in todo],
        "c0s": [c0 for _, c0, _ in todo],
        "c1s": [c1 for _, _, c1 in todo],
    }


def retention_cutoff(settings: Settings, now: dt.datetime) -> dt.datetime:
    """The start of the oldest local day GRIDGOV_TRACK_RETENTION_DAYS keeps the fixes of."""
    tz = settings.calendar.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    return local_day_start(today - dt.timedelta(days=settings.patrols.track_retention_days), tz)


def refold_all(conn: Connection[Any], settings: Settings) -> dict[str, int]:
    """Every lattice's streets computed again, every stored fix's piece marked, then folded
    (after importing base map streets: `gridgov patrols fold --all`)."""
    with conn.transaction():
        conn.execute(ROADS_SQL)
        conn.execute(MARK_ALL_SQL)
    return fold_all(conn, settings)


def fold_all(
    conn: Connection[Any],
    settings: Settings,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Fold every marked piece (waiting for a fold running elsewhere); the counts summed."""
    total = {"pieces": 0, "parts": 0, "grid_days": 0}
    while True:
        out = fold(conn, settings, since=since, now=now)
        for k in total:
            total[k] += out[k]
        if out["pieces"] == 0:
            return total


def period_rows(
    conn: Connection[Any], settings: Settings, b0: dt.date, b1: dt.date, *, by_day: bool
) -> list[dict[str, Any]]:
    """Local days [b0, b1): per grid (and day when `by_day`) {grid, start, distance_m, seconds,
    patrols, covered_share} from the folded grid-days (gis.patrol_cells.PERIOD_SQL)."""
    rows = conn.execute(PERIOD_SQL, {"b0": b0, "b1": b1, "by_day": by_day}).fetchall()
    return [
        {
            "grid": r["grid_code"],
            "start": r["day"] if by_day else b0,
            "distance_m": round(float(r["distance_m"]), 1),
            "seconds": round(float(r["seconds"]), 1),
            "patrols": int(r["patrols"]),
            "covered_share": None
            if r["covered_share"] is None
            else round(min(float(r["covered_share"]), 1.0), 6),
        }
        for r in rows
    ]


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
    rows = conn.execute(LAST_PATROLLED_SQL, {"root": root}).fetchall()
    out = []
    for r in rows:
        last = r["last_day"]
        if last is None or (today - last).days > gap:
            days = None if last is None else (today - last).days
            out.append({"code": r["code"], "name": r["name"], "last_patrolled": last, "days": days})
    return out


def prune_tracks(conn: Connection[Any], settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Fold what is marked, then delete the fixes (positions) and parts of whole local days
    older than GRIDGOV_TRACK_RETENTION_DAYS; their grid-days (figures and covered cells) stay."""
    cutoff = retention_cutoff(settings, now)
    fold_all(conn, settings)
    with conn.transaction():
        days = conn.execute(
            "SELECT count(DISTINCT day) AS n FROM patrol_cover_parts WHERE day < %s",
            (cutoff.date(),),
        ).fetchone()
        conn.execute("DELETE FROM patrol_cover_parts WHERE day < %s", (cutoff.date(),))
        deleted = conn.execute("DELETE FROM patrol_fixes WHERE at < %s", (cutoff,)).rowcount
    return {"cutoff": cutoff, "days": int(days["n"]) if days else 0, "fixes": deleted}
