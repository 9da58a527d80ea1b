"""GET /api/v1/areas pages up to AREA_PAGE_MAX areas whatever GRIDGOV_MAX_PAGE_SIZE says: a map
draws a level's areas at once (a city's 10,000 grids in one request); the other lists keep the
configured maximum."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import AREA_PAGE_MAX
from tests.conftest import one_row, settings_for
from tests.test_pages_report import page_config


@pytest.fixture
def small_pages(world_db: str) -> Iterator[TestClient]:
    """The synthetic world served with pages of at most 3 rows."""
    with TestClient(create_app(settings_for(world_db, max_page_size=3))) as client:
        yield client


def test_areas_come_in_one_page_beyond_the_page_maximum(
    small_pages: TestClient, world_db: str, admin: dict[str, str]
) -> None:
    current = one_row(world_db, "SELECT count(*) FROM areas WHERE valid_to IS NULL")[0]
    assert current > 3  # more than the configured maximum
    r = small_pages.get("/api/v1/areas", params={"limit": AREA_PAGE_MAX})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberReturned"] == len(doc["features"]) == current
    assert doc["next_cursor"] is None
    # beyond AREA_PAGE_MAX: refused, saying the bound
    r = small_pages.get("/api/v1/areas", params={"limit": AREA_PAGE_MAX + 1})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == f"limit 最大为 {AREA_PAGE_MAX}。"  # (zh_CN: the default)
    # another list keeps the configured maximum
    r = small_pages.get("/api/v1/incidents", params={"limit": 4}, headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == "limit 最大为 3。"


def test_pages_are_told_the_area_page(small_pages: TestClient) -> None:
    assert page_config(small_pages.get("/report").text)["areaPage"] == AREA_PAGE_MAX


def test_a_full_last_page_has_no_cursor(
    world: TestClient, world_db: str, admin: dict[str, str]
) -> None:
    """`next_cursor` only when there is more: a page that holds exactly the rest has none (no
    request for an empty page; the dispatch console takes a cursor for "more than it shows"). The
    incident lists share the code (gis.features._collection); tests/test_incidents.py pages them."""
    lists = (
        ("/api/v1/areas", "SELECT count(*) FROM areas WHERE valid_to IS NULL"),
        ("/api/v1/buildings", "SELECT count(*) FROM buildings"),
    )
    for path, count in lists:
        n = one_row(world_db, count)[0]
        assert n >= 2, (path, n)
        whole = world.get(path, params={"limit": n}, headers=admin).json()
        assert whole["numberReturned"] == n and whole["next_cursor"] is None, path
        first = world.get(path, params={"limit": n - 1}, headers=admin).json()
        assert first["numberReturned"] == n - 1 and first["next_cursor"], path
        rest = world.get(
            path, params={"limit": n - 1, "cursor": first["next_cursor"]}, headers=admin
        ).json()
        assert rest["numberReturned"] == 1 and rest["next_cursor"] is None, path
        ids = [f["id"] for f in first["features"] + rest["features"]]
        assert ids == [f["id"] for f in whole["features"]], path
