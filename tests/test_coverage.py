"""Coverage problems through GET /api/v1/coverage and `gridgov check coverage`.

The world (tests/world.py) has two gaps: the district's north-east quarter belongs to no street,
and community C1's 86 m strip east of grid G2 belongs to no grid.
"""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from api.cli import app
from tests.areas_util import C1, G2, assert_shape, geo_area
from tests.world import box as wkt_box

D, S1, S2 = "110199", "110199001", "110199002"
BAD = C1 + "009"


def kinds_codes(doc):  # type: ignore[no-untyped-def]
    return [(f["properties"]["kind"], f["properties"]["codes"]) for f in doc["features"]]


def insert_bad_grid(db, b=(116.045, 39.00, 116.06, 39.01)):  # type: ignore[no-untyped-def]
    """A grid stored behind the API's back: overlapping G2 and sticking out of C1."""
    db.execute(
        "INSERT INTO areas (code, parent_code, name, level, level_rank, geom) "
        "VALUES (%s, %s, 'bad', 'grid', 4, ST_GeomFromText(%s, 4326))",
        (BAD, C1, wkt_box(*b)),
    )
    db.commit()


def test_world_gaps_everywhere(world, db):
    r = world.get("/api/v1/coverage")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert kinds_codes(doc) == [("gap", [D, S1, S2]), ("gap", [C1, G2])]
    quarter, strip = doc["features"]
    assert_shape(quarter["geometry"], box(116.05, 39.05, 116.10, 39.10))
    assert_shape(strip["geometry"], box(116.049, 39.0, 116.05, 39.05))
    assert strip["properties"]["area_m2"] == pytest.approx(
        geo_area(db, (116.049, 39.0, 116.05, 39.05)), rel=1e-4
    )


def test_one_parent_with_every_kind_of_problem(world, db):
    insert_bad_grid(db)
    doc = world.get("/api/v1/coverage", params={"parent": C1}).json()
    assert kinds_codes(doc) == [
        ("outside_parent", [BAD, C1]),
        ("overlap", [G2, BAD]),
        ("gap", [C1, G2, BAD]),
    ]
    outside, overlap, gap = doc["features"]
    assert_shape(outside["geometry"], box(116.05, 39.0, 116.06, 39.01))
    assert_shape(overlap["geometry"], box(116.045, 39.0, 116.049, 39.01))
    assert_shape(gap["geometry"], box(116.049, 39.01, 116.05, 39.05))
    for feature, b in (
        (outside, (116.05, 39.0, 116.06, 39.01)),
        (overlap, (116.045, 39.0, 116.049, 39.01)),
        (gap, (116.049, 39.01, 116.05, 39.05)),
    ):
        assert feature["properties"]["area_m2"] == pytest.approx(geo_area(db, b), rel=1e-4)


def test_clean_parent_and_unknown_parent(world):
    assert world.get("/api/v1/coverage", params={"parent": S1}).json()["features"] == []
    r = world.get("/api/v1/coverage", params={"parent": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_cli_check_coverage_exit_codes(world_db, db):
    runner = CliRunner()
    env = {"GRIDGOV_DATABASE_URL": world_db}
    clean = runner.invoke(app, ["check", "coverage", "--parent", S1], env=env)
    assert clean.exit_code == 0, clean.output
    assert "0 coverage problem(s) among children of 110199001" in clean.output
    insert_bad_grid(db)
    bad = runner.invoke(app, ["check", "coverage", "--parent", C1], env=env)
    assert bad.exit_code == 1
    for word in ("outside_parent", "overlap", "gap", BAD, "3 coverage problem(s)"):
        assert word in bad.output
    every = runner.invoke(app, ["check", "coverage", "--geojson"], env=env)
    assert every.exit_code == 1
    doc = json.loads(every.output)
    assert [f["properties"]["kind"] for f in doc["features"]] == [
        "outside_parent",
        "overlap",
        "gap",
        "gap",
    ]
    missing = runner.invoke(app, ["check", "coverage", "--parent", "nope"], env=env)
    assert missing.exit_code == 1 and "No current area" in missing.output
