"""Spatial assignment through GET /api/v1/locate, on the synthetic world (tests/world.py)."""

from __future__ import annotations

import pytest

G1, G2 = "110199001001001", "110199001001002"
C1, C2 = "110199001001", "110199001002"
S1, S2, D = "110199001", "110199002", "110199"


def locate(client, lon, lat, **extra):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/locate", params={"lon": lon, "lat": lat, **extra})


def assignment(client, lon, lat):  # type: ignore[no-untyped-def]
    r = locate(client, lon, lat)
    assert r.status_code == 200, r.text
    return r.json()["assignment"]


def test_inside_a_grid_gives_grid_and_all_ancestors(world):
    a = assignment(world, 116.010, 39.020)
    assert a["method"] == "inside"
    assert a["grid"]["code"] == G1 and a["grid"]["name"] == "一社区第1网格"
    assert (a["community"]["code"], a["street"]["code"], a["district"]["code"]) == (C1, S1, D)
    assert all(isinstance(a[lvl]["version_id"], int) for lvl in ("grid", "community", "street"))
    assert a["distance_m"] == 0 and a["building"] is None and a["near_boundary"] == []


def test_point_on_shared_edge_goes_to_lowest_code_every_time(world):
    # lon 116.025 is exactly the edge between grid 001 and grid 002 (002 was inserted first)
    seen = {assignment(world, 116.025, 39.020)["grid"]["code"] for _ in range(5)}
    assert seen == {G1}
    a = assignment(world, 116.025, 39.020)
    assert [n["code"] for n in a["near_boundary"]] == [G2]
    assert a["near_boundary"][0]["distance_m"] == 0


def test_near_boundary_lists_other_grids_within_10m(world):
    # ~4.3 m west of the G1/G2 edge (1e-3 deg lon ≈ 86.5 m at 39N)
    a = assignment(world, 116.02495, 39.020)
    assert a["grid"]["code"] == G1
    assert len(a["near_boundary"]) == 1 and a["near_boundary"][0]["code"] == G2
    assert 4.0 < a["near_boundary"][0]["distance_m"] < 4.7
    # ~17 m away: no longer near
    assert assignment(world, 116.0248, 39.020)["near_boundary"] == []


def test_building_grid_wins_over_geometry(world):
    # inside building b2, which straddles the edge but was surveyed into grid 002,
    # at a point that lies geometrically in grid 001
    a = assignment(world, 116.0249, 39.0305)
    assert a["method"] == "building"
    assert a["building"]["name"] == "跨界楼"
    assert a["grid"]["code"] == G2


def test_point_in_gap_within_50m_goes_to_nearest_grid(world):
    # 0.0003 deg east of grid 002's east edge (116.049) ≈ 26 m, inside community 1
    a = assignment(world, 116.0493, 39.020)
    assert a["method"] == "nearest"
    assert a["grid"]["code"] == G2 and a["community"]["code"] == C1
    assert 25 < a["distance_m"] < 27


def test_point_farther_than_50m_is_held_by_the_covering_area(world):
    a = assignment(world, 116.0499, 39.020)  # ≈ 78 m from grid 002, inside community 1
    assert a["method"] == "outside"
    assert a["grid"] is None
    assert a["responsible_area"] == C1 and a["community"]["code"] == C1
    assert a["street"]["code"] == S1
    assert 77 < a["distance_m"] < 79


def test_community_without_grids_keeps_its_points_even_near_another_grid(world):
    # 22 m north of grid 001, but inside community 2, which has no grids
    a = assignment(world, 116.010, 39.0502)
    assert a["method"] == "outside" and a["responsible_area"] == C2


def test_district_territory_outside_any_street(world):
    a = assignment(world, 116.080, 39.080)
    assert a["method"] == "outside"
    assert a["responsible_area"] == D and a["street"] is None and a["district"]["code"] == D


def test_point_in_the_sea_is_a_clear_422(world):
    r = locate(world, 121.0, 38.5)  # Bohai Sea
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "outside_service_area"
    assert body["message"] == "该位置不在本系统服务范围内。"  # zh_CN unless asked otherwise
    assert body["details"]["looks_swapped"] is False


def test_swapped_coordinates_are_recognised(world):
    # the western test district lies at 80E 40N; (lon=40.05, lat=80.05) is the swapped point
    r = locate(world, 40.05, 80.05)
    assert r.status_code == 422
    assert "坐标似乎颠倒了" in r.json()["error"]["message"]
    assert r.json()["error"]["details"]["looks_swapped"] is True


def test_latitude_out_of_range_hints_at_swap(world):
    r = locate(world, 39.02, 116.01)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_coordinates"
    assert "坐标似乎颠倒了" in r.json()["error"]["message"]


@pytest.mark.parametrize("crs", ["GCJ02", "BD09"])
def test_consumer_coordinates_are_converted_before_assignment(world, crs):
    from gis.crs import from_wgs84

    x, y = from_wgs84(116.0249, 39.0305, crs)  # inside building b2 in WGS 84
    r = locate(world, x, y, crs=crs)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assignment"]["method"] == "building"
    assert body["location"]["lon"] == pytest.approx(116.0249, abs=1e-9)
    assert body["location"]["input"] == {"x": x, "y": y, "crs": crs}


def test_unknown_crs_is_a_clear_error(world):
    r = locate(world, 116.01, 39.02, crs="EPSG:99999")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_crs"
    assert "EPSG:99999" in r.json()["error"]["message"]


def test_locate_gives_department_per_major_class(world):
    body = locate(world, 116.010, 39.020).json()
    by_class = {d["category"]: d for d in body["departments"]}
    assert set(by_class) == {"BJ01", "SH01", "SJ01"}
    assert by_class["SJ01"]["department"]["code"] == "CITYMGMT-001"  # area-specific rule
    assert by_class["BJ01"]["department"]["code"] == "WATER"  # priority 5 beats 1
    assert by_class["SH01"]["department"]["code"] == "S-110199001"  # 属地兜底: the street
    assert by_class["SH01"]["rule"] is None
    assert body["assignment"]["department"] is None  # no category asked
