"""`gridgov import areas --level grid` moves the open incidents whose grid changed."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, box

from tests.test_imports import rows, run, write_layer

C2 = "110199001002"  # the world's community without grids: [116.00,39.05]-[116.05,39.10]
WEST, EAST = f"{C2}001", f"{C2}002"


def report(client, lon: float, lat: float) -> str:  # type: ignore[no-untyped-def]
    body = {"category": "SJ0102", "description": "井盖缺失", "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def grids(tmp_path, split: float, name: str):  # type: ignore[no-untyped-def]
    """Community 2 cut into a west and an east grid at longitude `split`."""
    geoms = [
        MultiPolygon([box(116.00, 39.05, split, 39.10)]),
        MultiPolygon([box(split, 39.05, 116.05, 39.10)]),
    ]
    return write_layer(tmp_path / name, geoms, {"code": [WEST, EAST], "name": ["西网格", "东网格"]})


def state(url: str, public_id: str) -> dict:  # type: ignore[type-arg]
    inc = rows(
        url,
        "SELECT id, status, method, grid_code, community_code, responsible_area_code, "
        "assignment -> 'grid' ->> 'code' AS doc_grid FROM incidents WHERE public_id = %s",
        (public_id,),
    )[0]
    events = rows(
        url,
        "SELECT action, from_status, to_status, actor, note, data FROM incident_events "
        "WHERE incident_id = %s AND action = 'reassign' ORDER BY id",
        (inc["id"],),
    )
    return {**inc, "events": events}


def test_grid_import_moves_open_incidents_with_an_event_and_leaves_closed_ones(
    world, world_db, tmp_path
):
    open_id = report(world, 116.010, 39.07)
    closed_id = report(world, 116.011, 39.08)
    rows(
        world_db,
        "UPDATE incidents SET status = 'closed', closed_at = now() WHERE public_id = %s "
        "RETURNING id",
        (closed_id,),
    )
    before = state(world_db, open_id)
    assert (before["method"], before["grid_code"], before["responsible_area_code"]) == (
        "outside",
        None,
        C2,
    )

    # 1. grids appear where there were none: the open incident gets the west grid
    r = run(
        world_db, "import", "areas", str(grids(tmp_path, 116.025, "a.geojson")), "--level", "grid"
    )
    assert r.exit_code == 0, r.output
    assert "open incidents re-assigned: 1" in r.output
    after = state(world_db, open_id)
    assert (after["method"], after["grid_code"], after["doc_grid"]) == ("inside", WEST, WEST)
    assert after["community_code"] == C2
    [ev] = after["events"]
    assert (ev["from_status"], ev["to_status"], ev["actor"]) == ("reported", "reported", "import")
    assert ev["data"]["reason"] == "boundary_change"
    assert ev["data"]["areas"] == [WEST, EAST]
    assert ev["data"]["from"]["grid"] is None and ev["data"]["to"]["grid"] == WEST
    assert ev["note"].startswith("Boundary change (import of a.geojson): grid - → " + WEST)

    # 2. the boundary moves west of the incident: it moves to the east grid, one more event
    r = run(
        world_db, "import", "areas", str(grids(tmp_path, 116.005, "b.geojson")), "--level", "grid"
    )
    assert r.exit_code == 0, r.output
    after = state(world_db, open_id)
    assert (after["grid_code"], after["doc_grid"]) == (EAST, EAST)
    assert [(e["data"]["from"]["grid"], e["data"]["to"]["grid"]) for e in after["events"]] == [
        (None, WEST),
        (WEST, EAST),
    ]
    assert after["events"][1]["data"]["areas"] == [WEST, EAST]

    # the closed incident kept its historical assignment and got no event
    closed = state(world_db, closed_id)
    assert (closed["status"], closed["method"], closed["grid_code"]) == ("closed", "outside", None)
    assert closed["events"] == []

    # 3. re-importing the same layer changes nothing and moves nothing
    r = run(
        world_db, "import", "areas", str(grids(tmp_path, 116.005, "c.geojson")), "--level", "grid"
    )
    assert r.exit_code == 0, r.output
    assert "re-assigned" not in r.output
    assert len(state(world_db, open_id)["events"]) == 2
