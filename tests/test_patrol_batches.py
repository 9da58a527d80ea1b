"""One batch of fixes is one statement (gis.patrols.ADD_FIXES_SQL): a late batch mixing
duplicates, a repeated id, fixes out of order, a noisy and an outside fix re-judges the jumps of
the fixes stored after it; every stored flag is checked against the definition applied to the
whole track from scratch, and the live stream is told the newest clean fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

from api.settings import PatrolSettings
from gis.patrols import haversine_m
from tests.loop import make_cast
from tests.patrol_util import LAT_M, send, start

LON, LAT = 116.010, 39.010
CFG = PatrolSettings()


def fix(name: str, t: dt.datetime, north_m: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": name,
        "t": t.isoformat(),
        "lon": LON,
        "lat": LAT + north_m * LAT_M,
        "accuracy": 8.0,
    } | extra


def expected_jumps(rows: list[dict[str, Any]]) -> dict[str, bool]:
    """The jump flag of every fix by the definition (docs/patrols.md), judged from scratch:
    accurate fixes in time order, each against the last clean one before it."""
    max_mps = CFG.patrol_max_speed_kmh / 3.6
    last: dict[str, Any] | None = None
    out = {}
    for r in sorted(rows, key=lambda r: (r["at"], r["client_id"])):
        if r["inaccurate"]:
            out[r["client_id"]] = False
            continue
        jump = False
        if last is not None:
            secs = (r["at"] - last["at"]).total_seconds()
            if secs <= CFG.patrol_max_segment_s:
                d = haversine_m(last["lon"], last["lat"], r["lon"], r["lat"])
                jump = d / max(secs, 1.0) > max_mps
        out[r["client_id"]] = jump
        if not jump:
            last = r
    return out


def stored(db: Any, patrol: int) -> dict[str, dict[str, Any]]:
    db.rollback()  # a fresh snapshot
    rows = db.execute(
        "SELECT client_id, at, ST_X(geom) AS lon, ST_Y(geom) AS lat, inaccurate, jump, outside "
        "FROM patrol_fixes WHERE patrol_id = %s",
        (patrol,),
    ).fetchall()
    return {r["client_id"]: dict(r) for r in rows}


def positions(listener: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(n.payload) for n in listener.notifies(timeout=0.5, stop_after=10)]


def test_late_mixed_batch_rejudges_jumps(
    world: Any, token_for: Any, db: Any, world_db: str
) -> None:
    cast = make_cast(token_for)
    p = start(world, cast.officer)["id"]
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with psycopg.connect(world_db, autocommit=True, row_factory=dict_row) as listener:
        listener.execute("LISTEN gridgov_patrols")
        # p0, then k 1,000 m north 100 s later: 36 km/h from p0, a jump
        r = send(
            world,
            p,
            cast.officer,
            [fix("p0", t0, 0), fix("k", t0 + dt.timedelta(seconds=100), 1000)],
        )
        assert r.status_code == 200, r.text
        assert r.json()["flagged"] == {"inaccurate": [], "jump": ["k"], "outside": []}
        (event,) = positions(listener)
        assert (event["patrol"], dt.datetime.fromisoformat(event["at"])) == (p, t0)
        # a late batch: b and a walking 10 s before p0 but 1,000 m north of it (so p0 becomes a
        # jump and k, 110 s after a at the same place, clean), p0 again, a repeated with another
        # place (the first a counts), a noisy fix and one outside every area
        late = [
            fix("a", t0 - dt.timedelta(seconds=10), 1000),
            fix("p0", t0, 0),
            fix("b", t0 - dt.timedelta(seconds=20), 990),
            fix("n", t0 - dt.timedelta(seconds=5), 500, accuracy=500.0),
            fix("a", t0 - dt.timedelta(seconds=10), 3000),
            fix("o", t0 + dt.timedelta(seconds=500), 1000, lon=115.99),
        ]
        r = send(world, p, cast.officer, late)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["received"], doc["stored"], doc["duplicates"]) == (6, 4, 2)
        # the response's flags are those stored now, also for the duplicate p0 (re-judged)
        assert doc["flagged"] == {"inaccurate": ["n"], "jump": ["p0"], "outside": ["o"]}
        rows = stored(db, p)
        assert set(rows) == {"a", "b", "n", "o", "p0", "k"}
        assert rows["a"]["lat"] == LAT + 1000 * LAT_M  # the first of the repeated id
        want = expected_jumps(list(rows.values()))
        assert {k: r["jump"] for k, r in rows.items()} == want
        assert want == {"a": False, "b": False, "n": False, "o": False, "p0": True, "k": False}
        assert {k for k, r in rows.items() if r["inaccurate"]} == {"n"}
        assert {k for k, r in rows.items() if r["outside"]} == {"o"}
        # the live stream: the patrol's newest clean fix, o (outside, but clean)
        (event,) = positions(listener)
        assert dt.datetime.fromisoformat(event["at"]) == t0 + dt.timedelta(seconds=500)
        assert (event["lon"], event["area"]) == (115.99, cast_area(db, p))
        # the same batch again: nothing stored, flags as stored, no event
        r = send(world, p, cast.officer, late)
        assert r.json()["stored"] == 0 and r.json()["flagged"] == doc["flagged"]
        assert positions(listener) == []
    # the patrol's distance leaves the jump p0 out: b → a → k → o (400 s later: a gap)
    got = world.get(f"/api/v1/patrols/{p}", headers=cast.officer).json()
    assert got["flagged"] == {"inaccurate": 1, "jump": 1, "outside": 1}
    assert abs(got["distance_m"] - 10.0) < 0.5 and got["seconds"] == 120.0


def cast_area(db: Any, patrol: int) -> str:
    row = db.execute("SELECT area_code FROM patrols WHERE id = %s", (patrol,)).fetchone()
    return str(row["area_code"])
