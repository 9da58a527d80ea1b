"""Location text of an incident in the list and the live feed (gis/places.py): the nearest named
building within 50 m, else the nearest named road within 150 m, else the grid's name."""

from __future__ import annotations

from typing import Any

from gis.places import place_at
from tests.loop import report


def places(world: Any, headers: dict[str, str]) -> dict[str, str]:
    r = world.get("/api/v1/incidents", params={"limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"]["place"] for f in r.json()["features"]}


def test_building_then_road_then_grid(world: Any, db: Any, token_for: Any) -> None:
    db.execute(
        "INSERT INTO basemap_roads (osm_id, class, name, geom) VALUES "
        "(1, 'residential', '测试路', ST_GeomFromText('LINESTRING(116.005 39.030, 116.015 39.030)', 4326)), "
        "(2, 'residential', NULL, ST_GeomFromText('LINESTRING(116.005 39.040, 116.015 39.040)', 4326))"
    )
    db.commit()
    disp = token_for("pdisp", "dispatcher", "110199001")
    inside = report(world, lon=116.0242, lat=39.0105)  # in 一号楼
    beside = report(world, lon=116.0249, lat=39.0105)  # ~35 m east of it
    on_road = report(world, lon=116.010, lat=39.0309)  # ~100 m from 测试路
    far = report(world, lon=116.010, lat=39.0200)  # no building or road near: the grid
    unnamed = report(world, lon=116.010, lat=39.0401)  # only a road without a name near
    got = places(world, disp)
    assert got[inside] == got[beside] == "一号楼"
    assert got[on_road] == "测试路"
    assert got[far] == got[unnamed] == "一社区第1网格"
    # the same words for a point, as the list computes them
    assert place_at(db, 116.0242, 39.0105, None) == "一号楼"
    assert place_at(db, 116.010, 39.0340, "110199001001001") == "一社区第1网格"  # 440 m off
    assert place_at(db, 80.05, 40.05, None) is None  # no grid, nothing near
