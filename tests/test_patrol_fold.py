"""The coverage fold (gis.patrol_cells): a period unites its days' tracks, a late fix folds its
pieces again, and the app folds by itself.

The reference for a covered share is computed straight from the definition (docs/metrics.md):
the area of G1 within 30 m of the union of the walks (PostGIS geography buffers of the walks'
lines, united, cut by G1) over G1's area.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from api.cli import app
from api.main import create_app
from api.services.patrols.coverage import MAX_RANGE, ranges
from api.services.patrols.folder import CoverageFolder
from tests.conftest import runs_on_after_a_fault, settings_for
from tests.loop import G1, make_cast
from tests.patrol_util import LAT_M, fix, fold, send, start, walk
from tests.test_patrol_coverage import SH, coverage, one_piece

LON = 116.010
M_LON = 1 / (111_195 * 0.7766)  # degrees of longitude per metre at 39.01° N (cos 39.01° ≈ 0.7766)
WALK_M = 29 * 14.0


def walked(world: Any, cast: Any, t0: dt.datetime, lon: float) -> int:
    p = start(world, cast.officer)
    assert send(world, p["id"], cast.officer, walk(t0, 30, lon=lon)).status_code == 200
    return int(p["id"])


def reference_share(db: Any, lons: list[float]) -> float:
    lines = [f"LINESTRING({x} 39.010, {x} {39.010 + WALK_M * LAT_M})" for x in lons]
    row = db.execute(
        "SELECT ST_Area(ST_Intersection(u.reach, g.geom)::geography) "
        "/ ST_Area(g.geom::geography) AS share FROM areas g, (SELECT ST_Union(ARRAY("
        "SELECT ST_Buffer(ST_GeomFromText(l, 4326)::geography, 30)::geometry "
        "FROM unnest(%s::text[]) l)) AS reach) u WHERE g.code = %s AND g.valid_to IS NULL",
        (lines, G1),
    ).fetchone()
    return float(row["share"])


def period_share(world: Any, headers: Any, first: dt.date, last: dt.date) -> Any:
    params = {
        "group_by": "area",
        "level": "grid",
        "from": first.isoformat(),
        "to": last.isoformat(),
    }
    doc = world.get("/api/v1/stats", params=params, headers=headers).json()
    return next(r for r in doc["rows"] if r["code"] == G1)


def test_a_period_unites_its_days(world: Any, world_db: str, token_for: Any, db: Any) -> None:
    cast = make_cast(token_for)
    base = dt.datetime.combine(
        dt.datetime.now(SH).date() - dt.timedelta(days=3), dt.time(10, 1), SH
    )
    east, shifted = LON + 0.005, LON + 30 * M_LON  # ≈ 430 m east (apart); 30 m east (overlapping)
    walked(world, cast, base, LON)
    walked(world, cast, base + dt.timedelta(days=1), LON)  # the same street again
    walked(world, cast, base + dt.timedelta(days=1, minutes=30), east)
    walked(world, cast, base + dt.timedelta(days=2), shifted)
    fold(world_db)
    d1, d2, d3 = ((base + dt.timedelta(days=k)).astimezone(SH).date() for k in range(3))
    days = {r["start"]: r for r in coverage(world, cast.disp, d1)["rows"]}
    assert days[d1.isoformat()]["covered_share"] == pytest.approx(
        reference_share(db, [LON]), rel=0.01
    )
    # one day, two patrols apart: their areas add up
    (day2,) = coverage(world, cast.disp, d2)["rows"]
    assert day2["patrols"] == 2
    assert day2["covered_share"] == pytest.approx(reference_share(db, [LON, east]), rel=0.01)
    # two days walking the same street count it once
    two = period_share(world, cast.disp, d1, d2)
    assert two["patrol_km"] == pytest.approx(3 * WALK_M / 1000, rel=0.01)
    assert two["patrol_coverage"] == pytest.approx(reference_share(db, [LON, east]), rel=0.01)
    # a third day half over the first street: the union, not the sum
    three = period_share(world, cast.disp, d1, d3)
    union = reference_share(db, [LON, east, shifted])
    assert three["patrol_coverage"] == pytest.approx(union, rel=0.03)
    assert three["patrol_coverage"] < day2["covered_share"] + reference_share(db, [shifted])


def test_a_late_fix_folds_the_piece_before_it_again(
    world: Any, world_db: str, token_for: Any
) -> None:
    """The walk straddles two pieces: fix 14 lies 5 s before the quarter hour, fix 15 5 s after.
    Fix 15 comes late and 10 m east of the line: the segment 14→16 (piece one) becomes 14→15
    (piece one) and 15→16 (piece two)."""
    cast = make_cast(token_for)
    boundary = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)) - dt.timedelta(seconds=60)
    fixes = walk(boundary - dt.timedelta(seconds=145), 30)
    late = fixes.pop(15)
    p = start(world, cast.officer)
    assert send(world, p["id"], cast.officer, fixes).status_code == 200
    fold(world_db)
    day = boundary.astimezone(SH).date()
    (row,) = coverage(world, cast.disp, day)["rows"]
    assert row["distance_m"] == pytest.approx(WALK_M, abs=1.0)
    moved = fix(late["id"], dt.datetime.fromisoformat(late["t"]), LON + 10 * M_LON, late["lat"])
    assert send(world, p["id"], cast.officer, [moved]).status_code == 200
    fold(world_db)
    (row,) = coverage(world, cast.disp, day)["rows"]
    detour = 2 * (14.0**2 + 10.0**2) ** 0.5 - 28.0  # 14→15→16 instead of 14→16
    assert row["distance_m"] == pytest.approx(WALK_M + detour, abs=1.0)


def test_the_app_folds_by_itself(world_db: str, token_for: Any) -> None:
    s = settings_for(world_db)
    s.patrols.patrol_fold_s = 0.2
    cast = make_cast(token_for)
    t0 = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with TestClient(create_app(s)) as client:
        walked(client, cast, t0, LON)
        deadline = time.monotonic() + 20
        rows: list[Any] = []
        while not rows and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = coverage(client, cast.disp, t0.astimezone(SH).date())["rows"]
    assert rows and rows[0]["distance_m"] == pytest.approx(WALK_M, rel=0.005)


def test_a_failed_turn_does_not_end_the_folder(
    world_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault of one turn that is not the database's is logged with its traceback, and the
    folder goes on with the next turns (it used to end: coverage no longer kept current)."""
    s = settings_for(world_db)
    s.patrols.patrol_fold_s = 0.05
    turns: list[int] = []

    class OneFaultyTurn(CoverageFolder):
        def turn(self) -> int:
            turns.append(1)
            if len(turns) == 1:
                raise RuntimeError("a fault of one turn")
            return super().turn()  # the real fold, on the database

    with ConnectionPool(world_db, min_size=1, max_size=1) as pool:
        logged = runs_on_after_a_fault(OneFaultyTurn(s, pool), turns, "gridgov.patrols", caplog)
    assert "coverage fold failed" in logged
    assert "RuntimeError: a fault of one turn" in logged


def test_ranges_merge_closed_pieces_and_take_in_the_parts_they_touch() -> None:
    # patrol 1: pieces 10-12 closed (before 13) form one range; 13 and 14 are still walked
    pieces = [(1, 10), (1, 11), (1, 12), (1, 13), (1, 14), (2, 5), (2, 7)]
    assert ranges(pieces, 13, []) == [(1, 10, 12), (1, 13, 13), (1, 14, 14), (2, 5, 5), (2, 7, 7)]
    # a stored part 4-7 of patrol 2 is folded again whole, with pieces 5 and 7 in one range
    assert ranges(pieces, 13, [(2, 4, 7), (1, 20, 22)])[-1:] == [(2, 4, 7)]
    assert ranges(pieces, 13, [(2, 6, 8)])[-2:] == [(2, 5, 5), (2, 6, 8)]
    # a day at most in one range
    day = [(3, c) for c in range(200)]
    assert [c1 - c0 + 1 for _, c0, c1 in ranges(day, 1_000, [])] == [MAX_RANGE, MAX_RANGE, 8]


def test_fold_all_measures_streets_imported_after_the_walk(
    world: Any, world_db: str, token_for: Any, db: Any
) -> None:
    cast = make_cast(token_for)
    t0 = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    day = t0.astimezone(SH).date()
    walked(world, cast, t0, LON)
    fold(world_db)
    (before,) = coverage(world, cast.disp, day)["rows"]
    assert before["covered_share"] == pytest.approx(reference_share(db, [LON]), rel=0.01)
    # a street under the walk, 1,000 m long, imported afterwards: the share becomes the
    # street's covered length (the walk plus 30 m at each end) over its length
    db.execute(
        "INSERT INTO basemap_roads (id, osm_id, class, name, geom) VALUES (1, 1, 'residential', "
        "'路', ST_GeomFromText(%s, 4326))",
        (f"LINESTRING({LON} 39.005, {LON} {39.005 + 1000 * LAT_M})",),
    )
    db.commit()
    fold(world_db)  # nothing marked: the lattice keeps its street-less cells
    assert coverage(world, cast.disp, day)["rows"][0] == before
    r = CliRunner().invoke(
        app, ["patrols", "fold", "--all"], env={"GRIDGOV_DATABASE_URL": world_db}
    )
    assert r.exit_code == 0, r.output
    (after,) = coverage(world, cast.disp, day)["rows"]
    assert after["distance_m"] == before["distance_m"]
    assert after["covered_share"] == pytest.approx((WALK_M + 60) / 1000, rel=0.01)
