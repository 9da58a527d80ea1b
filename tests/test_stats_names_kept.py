"""The areas a table by area lists are kept in the process (query.AREAS_KEPT) under the State:
an area renamed or added over HTTP shows in the next statistics at once."""

from __future__ import annotations

from typing import Any

from api.services.evaluation import query
from tests.areas_util import G1, etag, grid_feature

STATS = {"group_by": "area", "level": "grid"}


def _names(client: Any, headers: dict[str, str]) -> dict[str, str]:
    r = client.get("/api/v1/stats", params=STATS, headers=headers)
    assert r.status_code == 200, r.text
    return {row["code"]: row["name"] for row in r.json()["rows"] if row["code"]}


def test_a_renamed_or_new_grid_shows_in_the_next_table(world: Any, admin: dict[str, str]) -> None:
    query.AREAS_KEPT.forget()
    before = _names(world, admin)
    assert before[G1] == "一社区第1网格"
    assert len(query.AREAS_KEPT) == 1
    assert _names(world, admin) == before  # read from what is kept
    feature = world.get(f"/api/v1/areas/{G1}").json()
    renamed = {"type": "Feature", "geometry": feature["geometry"], "properties": {"name": "改名"}}
    r = world.put(
        f"/api/v1/areas/{G1}", json=renamed, headers={**admin, "If-Match": etag(world, G1)}
    )
    assert r.status_code == 200, r.text
    after = _names(world, admin)
    assert after[G1] == "改名"
    assert {k: v for k, v in after.items() if k != G1} == {
        k: v for k, v in before.items() if k != G1
    }
    # a new grid, in a strip outside the others: listed (with nothing to count)
    r = world.post(
        "/api/v1/areas",
        json=grid_feature((116.049, 39.00, 116.05, 39.05), name="新增网格"),
        headers=admin,
    )
    assert r.status_code == 201, r.text
    code = r.json()["properties"]["code"]
    assert _names(world, admin)[code] == "新增网格"
