"""Patrol coverage against a worked example, the negative list, CSV and the retention prune.

Worked example: an officer walks due north along lon 116.010 in grid G1 (a box 0.025° × 0.05°),
30 fixes 10 s apart, 14 m apart: 29 segments = 406 m in 290 s.
- Without streets the covered share is the buffered track's area over the grid's area:
  (406 × 2 × 30 + π × 30²) m² / area(G1), G1's area on the WGS 84 ellipsoid (pyproj).
- With two 1,665 m streets in G1 (one under the track, one 860 m east), the covered length is
  the street under the track within 30 m of it: 406 + 2 × 30 = 466 m, share 466 / 3,330.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pyproj import Geod
from typer.testing import CliRunner

from api.cli import app
from tests.loop import G1, G2, make_cast
from tests.patrol_util import LAT_M, fold, send, start, walk

SH = ZoneInfo("Asia/Shanghai")
G1_BOX = (116.00, 39.00, 116.025, 39.05)
TRACK_M, TRACK_S, BUFFER_M = 29 * 14.0, 290.0, 30.0


def grid_area_m2() -> float:
    x0, y0, x1, y1 = G1_BOX
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
    return abs(area)


def one_piece(t: dt.datetime) -> dt.datetime:
    """A minute into t's quarter hour: the worked example's 290 s walk is one piece (part) of
    the coverage fold, whose figures are exact (gis.patrol_cells)."""
    return dt.datetime.fromtimestamp(int(t.timestamp()) // 900 * 900 + 60, dt.UTC)


def patrol_at(world: Any, cast: Any, t0: dt.datetime, url: str) -> int:
    """A patrol of the worked example's walk from t0, folded into the coverage figures."""
    p = start(world, cast.officer)
    assert send(world, p["id"], cast.officer, walk(t0, 30)).status_code == 200
    fold(url)
    return int(p["id"])


def coverage(world: Any, headers: Any, day: dt.date, interval: str = "day") -> Any:
    r = world.get(
        "/api/v1/patrols/coverage",
        params={"from": day.isoformat(), "to": day.isoformat(), "interval": interval},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_worked_example_area_share_week_stats_and_csv(
    world: Any, world_db: str, token_for: Any
) -> None:
    cast = make_cast(token_for)
    t0 = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    day = t0.astimezone(SH).date()
    patrol_at(world, cast, t0, world_db)
    (row,) = coverage(world, cast.disp, day)["rows"]
    expected = (TRACK_M * 2 * BUFFER_M + math.pi * BUFFER_M**2) / grid_area_m2()
    assert row["grid"] == G1 and row["start"] == day.isoformat() and row["patrols"] == 1
    assert row["distance_m"] == pytest.approx(TRACK_M, rel=0.005)
    assert row["seconds"] == TRACK_S
    assert row["covered_share"] == pytest.approx(expected, rel=0.02)
    (week,) = coverage(world, cast.disp, day, "week")["rows"]
    monday = day - dt.timedelta(days=day.weekday())
    assert week["start"] == monday.isoformat() and week["distance_m"] == row["distance_m"]
    # the other street's dispatcher sees no grid of street 甲; officers get no coverage
    assert coverage(world, cast.other_disp, day)["rows"] == []
    r = world.get("/api/v1/patrols/coverage", headers=cast.officer)
    assert r.status_code == 403
    # in the evaluation: grid rows carry the patrol columns, the CSV too
    params = {"group_by": "area", "level": "grid", "from": day.isoformat(), "to": day.isoformat()}
    doc = world.get("/api/v1/stats", params=params, headers=cast.disp).json()
    g1 = next(r for r in doc["rows"] if r["code"] == G1)
    g2 = next(r for r in doc["rows"] if r["code"] == G2)
    assert g1["patrol_km"] == pytest.approx(TRACK_M / 1000, rel=0.005)
    assert g1["patrol_hours"] == round(TRACK_S / 3600, 2)
    assert g1["patrol_coverage"] == row["covered_share"]
    assert (g2["patrol_km"], g2["patrol_coverage"]) == (0.0, None)
    csv = world.get("/api/v1/stats", params=params | {"format": "csv"}, headers=cast.disp).text
    header, *lines = csv.lstrip("\ufeff").splitlines()
    assert header.endswith(",巡查覆盖率")  # the header in the request's language (zh_CN)
    assert next(x for x in lines if x.startswith(G1)).endswith(str(row["covered_share"]))
    # the coverage CSV: its header in the request's language too, or the JSON's keys

    def coverage_csv(asking: dict[str, str], **params: str) -> list[str]:
        period = {"from": day.isoformat(), "to": day.isoformat(), "format": "csv"}
        r = world.get("/api/v1/patrols/coverage", params=period | params, headers=asking)
        assert r.status_code == 200, r.text
        return r.content.decode("utf-8-sig").splitlines()

    chinese, english = coverage_csv(cast.disp), coverage_csv(cast.disp | {"Accept-Language": "en"})
    assert chinese[0] == "网格,名称,日期,巡查里程（米）,巡查时长（秒）,巡查次数,覆盖率"
    assert (
        english[0]
        == "Grid,Name,Day or week,Patrol distance (m),Patrol time (s),Patrols,Covered share"
    )
    assert chinese[1:] == english[1:] and chinese[1].startswith(f"{G1},")
    codes = coverage_csv(cast.disp | {"Accept-Language": "en"}, headers="codes")
    assert codes[0] == "grid,name,start,distance_m,seconds,patrols,covered_share"
    assert codes[1:] == chinese[1:]


def test_worked_example_with_streets(world: Any, world_db: str, token_for: Any, db: Any) -> None:
    cast = make_cast(token_for)
    road_m = 1665.0
    y0 = 39.005
    y1 = y0 + road_m * LAT_M
    for i, lon in enumerate((116.010, 116.020)):
        db.execute(
            "INSERT INTO basemap_roads (id, osm_id, class, name, geom) VALUES "
            "(%s, %s, 'residential', %s, ST_GeomFromText(%s, 4326))",
            (i + 1, i + 1, f"路{i}", f"LINESTRING({lon} {y0}, {lon} {y1})"),
        )
    db.commit()
    t0 = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    patrol_at(world, cast, t0, world_db)
    (row,) = coverage(world, cast.admin, t0.astimezone(SH).date())["rows"]
    assert row["covered_share"] == pytest.approx((TRACK_M + 2 * BUFFER_M) / (2 * road_m), rel=0.01)


GAP = "patrol_gap_days"


def test_unpatrolled_grids_join_the_negative_list(
    world: Any, world_db: str, token_for: Any
) -> None:
    cast = make_cast(token_for)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # no patrol recorded yet: patrols are not in use here, no grid is flagged for them
    flags = world.get("/api/v1/stats/flags", headers=cast.disp).json()["flags"]
    assert not [r for f in flags for r in f["reasons"] if r["metric"] == GAP]
    # (its 290 s walk within one quarter hour: within one local day, whenever the test runs)
    walked = one_piece(now - dt.timedelta(days=5))
    patrol_at(world, cast, walked, world_db)
    flags = world.get("/api/v1/stats/flags", headers=cast.disp).json()
    gaps = {
        f["code"]: f["reasons"][0]
        for f in flags["flags"]
        if f["reasons"][0]["metric"] == "patrol_gap_days"
    }
    last = walked.astimezone(SH).date()
    today = now.astimezone(SH).date()
    assert gaps[G2]["value"] is None and gaps[G2]["last_patrolled"] is None  # never patrolled
    assert gaps[G1]["value"] == (today - last).days and gaps[G1]["threshold"] == 3
    assert gaps[G1]["last_patrolled"] == last.isoformat()
    # counted and cut with the others (`limit`): the first of them, with no figures of its own
    first = world.get("/api/v1/stats/flags", params={"limit": 1}, headers=cast.disp).json()
    assert first["matched"] == flags["matched"] == len(flags["flags"]) >= 2
    assert first["flags"] == flags["flags"][:1] and first["flags"][0]["figures"] == {}
    # told in the caller's language: Chinese by default, English on request
    days = (today - last).days
    assert gaps[G2]["message"] == "从未巡查（上限 3 天）"
    assert gaps[G1]["message"] == f"未巡查 {days} 天（超过 3 天）"
    english = world.get("/api/v1/stats/flags", headers=cast.disp | {"Accept-Language": "en"})
    told = {
        f["code"]: f["reasons"][0]["message"]
        for f in english.json()["flags"]
        if f["reasons"][0]["metric"] == GAP
    }
    assert told[G2] == "Never patrolled (limit: 3 days)"
    assert told[G1] == f"Not patrolled for {days} days (more than 3)"
    # a patrol today takes G1 off the list
    patrol_at(world, cast, now - dt.timedelta(minutes=30), world_db)
    flags = world.get("/api/v1/stats/flags", headers=cast.disp).json()
    listed = {f["code"] for f in flags["flags"] for r in f["reasons"] if r["metric"] == GAP}
    assert listed == {G2}


def test_prune_keeps_daily_figures(world: Any, world_db: str, token_for: Any, db: Any) -> None:
    cast = make_cast(token_for)
    # each walk within one quarter hour: its day's figures whole, whenever the test runs
    old = one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(days=100))
    pid = patrol_at(world, cast, old, world_db)
    recent = patrol_at(
        world, cast, one_piece(dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)), world_db
    )
    day = old.astimezone(SH).date()
    before = coverage(world, cast.admin, day)["rows"]
    r = CliRunner().invoke(app, ["patrols", "prune"], env={"GRIDGOV_DATABASE_URL": world_db})
    assert r.exit_code == 0, r.output
    assert "30 deleted" in r.output
    left = db.execute("SELECT patrol_id, count(*) AS n FROM patrol_fixes GROUP BY 1").fetchall()
    assert [(x["patrol_id"], x["n"]) for x in left] == [(recent, 30)]
    after = coverage(world, cast.admin, day)["rows"]
    assert after == before and after[0]["distance_m"] == pytest.approx(TRACK_M, rel=0.005)
    assert world.get(f"/api/v1/patrols/{pid}/track", headers=cast.admin).json()["features"] == []


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"to": "0001-01-01"}, "between the years 1900 and 2200"),
        ({"from": "2026-11-02", "to": "9999-12-31"}, "between the years 1900 and 2200"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "from must be earlier than to"),
    ],
)
def test_coverage_period_out_of_range_is_a_400(
    world: Any, token_for: Any, params: dict[str, str], words: str
) -> None:
    cast = make_cast(token_for)
    english = cast.disp | {"Accept-Language": "en"}
    r = world.get("/api/v1/patrols/coverage", params=params, headers=english)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]
