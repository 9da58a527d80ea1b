"""就近派遣 by walking distance: the base map's streets become a graph at import (gis/walking.py)
and the nearest on-duty officers are ranked along it with pgRouting.

The streets, written as an OpenStreetMap extract and imported with `gridgov basemap import`:

    S2  A ─────────────────────── (39.0215)        A: officer north of the case, across a block
    S3  │              ║ S4 (bridge, no shared node)
    S1  ┼────── C ─────╫─── B ─── (39.0200)        C: the case; B: officer 260 m east, same street
      116.005        116.012

A is the nearest in a straight line (167 m) but must walk round by S3 (≈ 1,030 m); the bridge S4
crosses both streets without a node in common, so it joins nothing. D stands 560 m north of every
street: no walk, listed last by straight line.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from pyproj import Geod
from typer.testing import CliRunner

from api.cli import app
from tests.loop import G1, make_cast, report
from tests.patrol_util import send, start

Y1, Y2, X0, X1, X2, XB = 39.0200, 39.0215, 116.0050, 116.0150, 116.0140, 116.0120
CASE = (116.0100, Y1)
OFFICERS = {"A": (116.0100, Y2), "B": (116.0130, Y1), "D": (116.0100, 39.0265)}

NODES = {
    1: (X0, Y1), 2: (X1, Y1),  # S1
    3: (X0, Y2), 4: (X2, Y2),  # S2 (S3 joins 1 and 3)
    5: (XB, 39.0190), 6: (XB, 39.0225),  # S4, the bridge
}  # fmt: skip
WAYS = {
    11: ([1, 2], "residential", "学清路"),
    12: ([3, 4], "residential", "北小街"),
    13: ([1, 3], "service", "西夹道"),
    14: ([5, 6], "primary", "桥"),
}


def osm_xml() -> str:
    nodes = "".join(
        f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in NODES.items()
    )
    ways = "".join(
        f'<way id="{i}" version="1">'
        + "".join(f'<nd ref="{n}"/>' for n in refs)
        + f'<tag k="highway" v="{kind}"/><tag k="name" v="{name}"/>'
        + ('<tag k="bridge" v="yes"/><tag k="layer" v="1"/>' if i == 14 else "")
        + "</way>"
        for i, (refs, kind, name) in WAYS.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}{ways}</osm>'


def import_streets(url: str, tmp_path: Path) -> None:
    path = tmp_path / "streets.osm"
    path.write_text(osm_xml(), encoding="utf-8")
    done = CliRunner().invoke(
        app, ["basemap", "import", str(path)], env={"GRIDGOV_DATABASE_URL": url}
    )
    assert done.exit_code == 0, done.output


def on_duty(world: Any, token_for: Any) -> dict[str, int]:
    """A running patrol per officer, its last fix (a few seconds ago) where OFFICERS puts it."""
    ids = {}
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=20)
    for name, (lon, lat) in OFFICERS.items():
        headers = token_for(f"walker-{name}", "officer", G1)
        patrol = start(world, headers)["id"]
        fix = {"id": "f1", "t": at.isoformat(), "lon": lon, "lat": lat, "accuracy": 5.0}
        assert send(world, patrol, headers, [fix]).status_code == 200
        ids[name] = patrol
    return ids


GEOD = Geod(ellps="WGS84")


def along(*points: tuple[float, float]) -> float:
    """Metres along the polyline on the spheroid (PostGIS' geography measures the same)."""
    return float(GEOD.line_length([p[0] for p in points], [p[1] for p in points]))


def test_the_graph_cuts_ways_at_shared_nodes_only(world_db: str, tmp_path: Path) -> None:
    import_streets(world_db, tmp_path)
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT source, target, length_m FROM basemap_walk_edges").fetchall()
    lengths = {
        "S1": along((X0, Y1), (X1, Y1)),
        "S2": along((X0, Y2), (X2, Y2)),
        "S3": along((X0, Y1), (X0, Y2)),
        "S4": along((XB, 39.0190), (XB, 39.0225)),
    }
    # no way shares a node mid-way: one edge per way, each as long as the way
    assert len(rows) == 4
    edge = {}
    for name, metres in lengths.items():
        (row,) = [r for r in rows if r["length_m"] == pytest.approx(metres, abs=0.01)]
        edge[name] = {row["source"], row["target"]}
    # S3 shares its west ends with S1 and S2; S1 and S2 meet only through it; the bridge S4
    # crosses both without a node in common and touches nothing
    assert len(edge["S3"] & edge["S1"]) == 1 and len(edge["S3"] & edge["S2"]) == 1
    assert not edge["S1"] & edge["S2"]
    assert all(not edge["S4"] & edge[n] for n in ("S1", "S2", "S3"))


def test_nearest_officers_walk_the_streets(
    world: Any, world_db: str, token_for: Any, tmp_path: Path
) -> None:
    cast = make_cast(token_for)
    ids = on_duty(world, token_for)
    case = report(world, lon=CASE[0], lat=CASE[1])
    url = f"/api/v1/incidents/{case}/nearest-officers?limit=50"

    before = world.get(url, headers=cast.disp)
    assert before.status_code == 200, before.text
    assert before.json()["method"] == "straight_line"  # no streets yet
    mine = {v: k for k, v in ids.items()}
    straight = [mine[o["patrol"]] for o in before.json()["officers"] if o["patrol"] in mine]
    assert straight == ["A", "B", "D"]

    import_streets(world_db, tmp_path)
    doc = world.get(url, headers=cast.disp).json()
    assert doc["method"] == "walking"
    got = {mine[o["patrol"]]: o for o in doc["officers"] if o["patrol"] in mine}
    assert [mine[o["patrol"]] for o in doc["officers"] if o["patrol"] in mine] == ["B", "A", "D"]
    # B walks along S1; A round by S3 (the bridge joins nothing); D reaches no street
    assert got["B"]["walking_m"] == pytest.approx(along(CASE, OFFICERS["B"]), rel=0.01)
    round_by_s3 = along(CASE, (X0, Y1), (X0, Y2), OFFICERS["A"])
    assert got["A"]["walking_m"] == pytest.approx(round_by_s3, rel=0.01)
    assert got["A"]["straight_m"] == pytest.approx(along(CASE, OFFICERS["A"]), rel=0.005)
    assert got["D"]["walking_m"] is None
    assert got["D"]["distance_m"] == got["D"]["straight_m"]
    assert got["B"]["distance_m"] == got["B"]["walking_m"]


def test_a_case_far_from_every_street_stays_straight_line(
    world: Any, world_db: str, token_for: Any, tmp_path: Path
) -> None:
    cast = make_cast(token_for)
    on_duty(world, token_for)
    import_streets(world_db, tmp_path)
    case = report(world, lon=116.0100, lat=39.0120)  # 900 m south of S1
    doc = world.get(f"/api/v1/incidents/{case}/nearest-officers", headers=cast.disp).json()
    assert doc["method"] == "straight_line"
    assert all(o["walking_m"] is None for o in doc["officers"])
