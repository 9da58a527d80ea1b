"""Batches of GPS fixes: stored once per point id, in any order; noisy fixes kept but flagged.

Flags: `inaccurate` (reported accuracy beyond GRIDGOV_PATROL_MAX_ACCURACY_M), `outside` (in no
area of the service; kept, counted in the patrol's distance, in no grid's coverage) and `jump`
(reached from the previous clean fix faster than GRIDGOV_PATROL_MAX_SPEED_KMH). Jumps are judged
in time order, so a late batch re-judges the fixes after its earliest one; a fix more than
GRIDGOV_PATROL_MAX_SEGMENT_S after the previous clean fix is never a jump (signal lost: nothing
to compare with). Inaccurate fixes and jumps are left out of distances and coverage.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection

from api.errors import Conflict, ValidationFailed
from api.schemas.patrols import FixBatchIn, utc
from api.services.identity.auth import User
from api.services.patrols.live import notify_position
from api.services.patrols.store import load_patrol, require_leader
from api.settings import PatrolSettings, Settings
from gis.patrols import INSERT_FIXES_SQL, RECHECK_SQL, SET_JUMP_SQL, haversine_m

FUTURE_SLACK = dt.timedelta(minutes=5)  # phones' clocks run a little ahead


def _check(
    batch: FixBatchIn, patrol: dict[str, Any], cfg: PatrolSettings, now: dt.datetime
) -> None:
    if len(batch.fixes) > cfg.patrol_batch_max:
        raise ValidationFailed(
            f"Send at most {cfg.patrol_batch_max} fixes per batch.",
            {"problems": [{"field": "fixes", "problem": f"more than {cfg.patrol_batch_max}"}]},
        )
    problems = []
    for i, f in enumerate(batch.fixes):
        if f.t > now + FUTURE_SLACK:
            problems.append({"field": f"fixes[{i}].t", "problem": "in the future"})
        elif patrol["ended_at"] is not None and f.t > patrol["ended_at"]:
            raise Conflict(
                f"Patrol {patrol['id']} ended at {patrol['ended_at'].isoformat()}; "
                "fixes after its end are refused.",
                {"patrol": patrol["id"], "fix": f.id},
            )
    if problems:
        raise ValidationFailed(
            f"A fix's time lies in the future ({problems[0]['field']}).", {"problems": problems}
        )


def judge_jumps(rows: list[dict[str, Any]], cfg: PatrolSettings) -> dict[str, bool]:
    """The jump flag of each fix (rows in time order; the first may be the clean anchor)."""
    max_mps = cfg.patrol_max_speed_kmh / 3.6
    last: dict[str, Any] | None = None
    out: dict[str, bool] = {}
    for r in rows:
        jump = False
        if last is not None:
            secs = (r["at"] - last["at"]).total_seconds()
            if secs <= cfg.patrol_max_segment_s:
                d = haversine_m(last["lon"], last["lat"], r["lon"], r["lat"])
                jump = d / max(secs, 1.0) > max_mps
        if not r["anchor"]:
            out[r["client_id"]] = jump
        if not jump:
            last = r
    return out


def add_fixes(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    patrol_id: int,
    batch: FixBatchIn,
    now: dt.datetime,
) -> dict[str, Any]:
    """Store a batch; {stored, duplicates, flagged: {…: client ids}} of this batch."""
    cfg = settings.patrols
    with conn.transaction():
        patrol = load_patrol(conn, patrol_id, lock=True)  # one batch of a patrol at a time
        require_leader(user, patrol)
        _check(batch, patrol, cfg, now)
        stored = conn.execute(
            INSERT_FIXES_SQL,
            {
                "patrol": patrol_id,
                "ids": [f.id for f in batch.fixes],
                "ats": [utc(f.t) for f in batch.fixes],
                "lons": [f.lon for f in batch.fixes],
                "lats": [f.lat for f in batch.fixes],
                "accs": [f.accuracy for f in batch.fixes],
                "max_acc": cfg.patrol_max_accuracy_m,
            },
        ).fetchall()
        if stored:
            t0 = min(r["at"] for r in stored)
            rows = conn.execute(RECHECK_SQL, {"patrol": patrol_id, "t0": t0}).fetchall()
            was = {r["client_id"]: r["jump"] for r in rows if not r["anchor"]}
            judged = judge_jumps([dict(r) for r in rows], cfg)
            changed = {k: v for k, v in judged.items() if was.get(k) != v}
            if changed:
                conn.execute(
                    SET_JUMP_SQL,
                    {"patrol": patrol_id, "ids": list(changed), "jumps": list(changed.values())},
                )
            notify_position(conn, patrol_id)  # the command view's live stream, on commit
        ids = sorted({f.id for f in batch.fixes})
        flags = conn.execute(
            "SELECT client_id, inaccurate, jump, outside FROM patrol_fixes "
            "WHERE patrol_id = %s AND client_id = ANY(%s) ORDER BY client_id",
            (patrol_id, ids),
        ).fetchall()
    return {
        "patrol": patrol_id,
        "received": len(batch.fixes),
        "stored": len(stored),
        "duplicates": len(batch.fixes) - len(stored),
        "flagged": {
            k: [r["client_id"] for r in flags if r[k]] for k in ("inaccurate", "jump", "outside")
        },
    }
