"""Set-based assignment of a whole points table (gis.bulk_assign): same grids as one-by-one."""

from __future__ import annotations

from gis.bulk_assign import assign_points_to_grids

G1, G2 = "110199001001001", "110199001001002"

POINTS = {
    1: (116.010, 39.020),  # inside grid 001
    2: (116.025, 39.020),  # exactly on the edge between 001 and 002: the lowest code
    3: (116.0303, 39.020),  # inside grid 002
    4: (116.0493, 39.020),  # in a gap east of grid 002: no grid covers it
    5: (121.0, 38.5),  # in the sea
}


def test_every_point_gets_the_grid_that_single_assignment_gives(db, world):
    db.execute(
        "CREATE TABLE pts (id bigint PRIMARY KEY, geom geometry(Point, 4326), grid_code text)"
    )
    for i, (lon, lat) in POINTS.items():
        db.execute(
            "INSERT INTO pts VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'stale')",
            (i, lon, lat),
        )
    db.execute("CREATE INDEX ON pts USING gist (geom)")

    changed = assign_points_to_grids(db, "pts")

    rows = db.execute("SELECT id, grid_code FROM pts ORDER BY id").fetchall()
    got = {r["id"]: r["grid_code"] for r in rows}
    # no grid covers 4 and 5: left as they were, for the caller's nearest-grid / outside rules
    assert got == {1: G1, 2: G1, 3: G2, 4: "stale", 5: "stale"}
    assert changed == 3
    for i in (1, 2, 3):
        lon, lat = POINTS[i]
        answer = world.get("/api/v1/locate", params={"lon": lon, "lat": lat}).json()
        assert answer["assignment"]["grid"]["code"] == got[i]
    assert assign_points_to_grids(db, "pts") == 0  # nothing left to change
