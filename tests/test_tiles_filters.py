"""Incident tiles narrowed by the incident list's filters, and the list's newest-first order.

The dispatch console draws incidents from /tiles/incidents when zoomed out, with the same
filters as its list; these tests hold the tiles to the list's answers.
"""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from tests.loop import G1, G2, make_cast
from tests.test_tiles import get_tile, report, settle, tile_of

Z = 13  # one tile holds the whole test district's west half
TILE = "/tiles/incidents/{}/{}/{}.pbf".format(Z, *tile_of(116.025, 39.02, Z))


@pytest.fixture
def scene(world: TestClient, db: Any) -> dict[str, str]:
    """Three incidents: garbage in G1 (overdue), a manhole in G1, garbage in G2."""
    ids = {
        "late": report(world, 116.020, 39.020),
        "manhole": report(world, 116.021, 39.021, "BJ0101"),
        "g2": report(world, 116.030, 39.020),
    }
    db.execute(
        "UPDATE incidents SET due_at = now() - interval '1 hour' WHERE public_id = %s",
        (ids["late"],),
    )
    db.commit()
    settle(world, db)  # the UPDATE's NOTIFY has dropped the tiles it touched
    return ids


def ids_in(client: TestClient, query: str, headers: dict[str, str] | None = None) -> set[str]:
    """The incident ids the filtered tile holds."""
    r = client.get(TILE + query, headers=headers or {})
    assert r.status_code == 200, r.text
    layers = mapbox_vector_tile.decode(r.content) if r.content else {}
    return {f["properties"]["id"] for f in layers.get("incidents", {}).get("features", [])}


def listed(client: TestClient, query: str, headers: dict[str, str]) -> set[str]:
    r = client.get("/api/v1/incidents?limit=1000&" + query.lstrip("?"), headers=headers)
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"late", "manhole", "g2"}),
        ("?category=BJ01", {"manhole"}),
        ("?category=SJ", {"late", "g2"}),
        (f"?area={G2}", {"g2"}),
        (f"?grid={G1}", {"late", "manhole"}),
        ("?area=110199001", {"late", "manhole", "g2"}),
        ("?overdue=true", {"late"}),
        ("?overdue=false", {"manhole", "g2"}),
        ("?status=reported,registered", {"late", "manhole", "g2"}),
        ("?status=closed", set()),
        (f"?area={G1}&category=SJ", {"late"}),
    ],
)
def test_tiles_hold_what_the_list_holds(
    world: TestClient, scene: dict[str, str], token_for: Any, query: str, expected: set[str]
) -> None:
    want = {scene[name] for name in expected}
    assert ids_in(world, query) == want
    admin = token_for("tile-admin", "admin")
    assert listed(world, query, admin) == want  # the same filter, the same incidents


def test_department_filter_is_for_staff(
    world: TestClient, scene: dict[str, str], token_for: Any, db: Any
) -> None:
    cast = make_cast(token_for)
    # in street 甲 garbage goes to CITYMGMT-001, manholes to WATER (tests/world.py RULES)
    rows = db.execute("SELECT public_id, department_code FROM incidents").fetchall()
    assert {r["public_id"]: r["department_code"] for r in rows}[scene["manhole"]] == "WATER"
    for staff in (cast.admin, cast.disp, cast.officer, cast.dept):
        assert ids_in(world, "?department=WATER", staff) == {scene["manhole"]}
    for outsider in ({}, cast.resident):
        r = world.get(TILE + "?department=WATER", headers=outsider)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"] == {"department": "WATER"}
    assert "department" not in get_tile(world, TILE)[0]["incidents"][0]["properties"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/tiles/grids/13/6748/3102.pbf?category=SJ", "不接受案件筛选条件"),
        (TILE + "?status=lost", "未知状态 lost"),
    ],
)
def test_filters_refused_where_they_do_not_apply(
    world: TestClient, path: str, message: str
) -> None:
    r = world.get(path)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]["message"]


def test_filtered_tiles_are_cached_apart_and_refreshed_on_change(
    world: TestClient, scene: dict[str, str], db: Any
) -> None:
    query = "?category=BJ01"
    first = world.get(TILE + query)
    assert first.headers["x-tile-cache"] == "miss"
    assert world.get(TILE + query).headers["x-tile-cache"] == "hit"
    assert world.get(TILE).headers["x-tile-cache"] == "miss"  # unfiltered: its own entry
    new = report(world, 116.022, 39.022, "BJ0101")
    settle(world, db)
    assert ids_in(world, query) == {scene["manhole"], new}
    # overdue=true is never served from the cache: an incident falls due with no write at all
    for _ in range(2):
        assert world.get(TILE + "?overdue=true").headers["x-tile-cache"] == "miss"


def test_list_newest_first_pages_backwards(
    world: TestClient, scene: dict[str, str], token_for: Any
) -> None:
    admin = token_for("order-admin", "admin")
    newest = [scene["g2"], scene["manhole"], scene["late"]]
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        r = world.get(f"/api/v1/incidents?order=newest&limit=2{cursor}", headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [f["id"] for f in body["features"]]
        if not body["next_cursor"]:
            break
        cursor = "&cursor=" + body["next_cursor"]
    assert seen == newest
    oldest = world.get("/api/v1/incidents?limit=5", headers=admin).json()["features"]
    assert [f["id"] for f in oldest] == newest[::-1]
    bad = world.get("/api/v1/incidents?order=random", headers=admin)
    assert bad.status_code == 422, bad.text
    assert "order" in bad.text
