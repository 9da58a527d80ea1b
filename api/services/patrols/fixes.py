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
from contextlib import nullcontext
from typing import Any

from psycopg import Connection

from api.errors import Conflict, NotFound, ValidationFailed
from api.schemas.patrols import FixBatchIn, utc
from api.services.identity.auth import User
from api.services.patrols.live import PATROL_CHANNEL
from api.services.patrols.store import require_leader
from api.settings import PatrolSettings, Settings
from gis.patrols import ADD_FIXES_SQL, LOCK_PATROL_SQL

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


def add_fixes(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    patrol_id: int,
    batch: FixBatchIn,
    now: dt.datetime,
) -> dict[str, Any]:
    """Store a batch; {stored, duplicates, flagged: {…: client ids}} of this batch.

    Two statements (docs/performance.md, 2026-12-05 evening): the patrol's row lock, then
    ADD_FIXES_SQL, which stores, judges the jumps, NOTIFYs the live stream and returns the flags.
    On the request's connection (a transaction already) no savepoint is taken: nothing is
    written before the checks pass, and the one writing statement is all or nothing."""
    cfg = settings.patrols
    tx = conn.transaction() if conn.autocommit else nullcontext()
    with tx:
        row = conn.execute(LOCK_PATROL_SQL, (patrol_id,), prepare=True).fetchone()
        if row is None:
            raise NotFound(f"No patrol {patrol_id}.", {"patrol": patrol_id})
        patrol = dict(row)
        require_leader(user, patrol)
        _check(batch, patrol, cfg, now)
        fixes = batch.fixes
        out = conn.execute(
            ADD_FIXES_SQL,
            {
                "patrol": patrol_id,
                "ids": [f.id for f in fixes],
                "ats": [utc(f.t) for f in fixes],
                "lons": [f.lon for f in fixes],
                "lats": [f.lat for f in fixes],
                "accs": [f.accuracy for f in fixes],
                "max_acc": cfg.patrol_max_accuracy_m,
                "max_seg": cfg.patrol_max_segment_s,
                "max_mps": cfg.patrol_max_speed_kmh / 3.6,
                "channel": PATROL_CHANNEL,
            },
            prepare=True,
        ).fetchone()
    assert out is not None
    return {
        "patrol": patrol_id,
        "received": len(fixes),
        "stored": out["stored"],
        "duplicates": len(fixes) - out["stored"],
        "flagged": {k: list(out[k]) for k in ("inaccurate", "jump", "outside")},
    }
