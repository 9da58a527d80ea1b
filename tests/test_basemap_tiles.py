"""GET /basemap/{z}/{x}/{y}.png: streets and their Chinese names, cached, replaced on re-import."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from api.main import create_app
from api.services.basemap.osm_import import import_basemap
from gis.basemap_style import BACKGROUND
from tests.basemap_util import (
    CONTROL,
    DEMO_OSM,
    ROAD_NAME,
    ROAD_POINT,
    band,
    basemap_db,  # noqa: F401  (fixture)
    colours,
    darkness,
    drawn,
    name_scores,
    pixel_in_tile,
    tile_of,
    west_east_line,
)
from tests.conftest import settings_for


@pytest.fixture
def client(basemap_db: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(settings_for(basemap_db))) as c:
        yield c


def road_tile(client: TestClient, z: int) -> tuple[bytes, int]:
    """The tile over 清华东路 at zoom z, and the pixel row of the road in it."""
    x, y = tile_of(*ROAD_POINT, z)
    res = client.get(f"/basemap/{z}/{x}/{y}.png")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "image/png"
    return res.content, pixel_in_tile(*ROAD_POINT, z)[1]


def test_streets_and_their_chinese_names_are_drawn_at_zooms_13_to_18(client: TestClient) -> None:
    for z in range(13, 19):
        png, row = road_tile(client, z)
        assert png[1:4] == b"PNG"
        image = darkness(png)
        assert west_east_line(image, row), z  # the road itself, across the tile
        around = band(image, row)
        scores = name_scores(around, ROAD_NAME)
        assert drawn(around, ROAD_NAME), (z, scores)
        control = name_scores(around, CONTROL)
        assert max(control) < min(scores), (z, scores, control)


def test_a_tile_without_data_is_plain_ground(client: TestClient) -> None:
    x, y = tile_of(121.0, 38.5, 15)  # the Bohai Sea
    res = client.get(f"/basemap/15/{x}/{y}.png")
    assert res.status_code == 200
    background = tuple(int(BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))
    assert colours(res.content) == {background}


def test_tiles_are_cached_until_a_reimport(client: TestClient, basemap_db: str) -> None:  # noqa: F811
    x, y = tile_of(*ROAD_POINT, 16)
    url = f"/basemap/16/{x}/{y}.png"
    first = client.get(url)
    assert first.headers["x-tile-cache"] == "miss"
    second = client.get(url)
    assert second.headers["x-tile-cache"] == "hit"
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    unchanged = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""

    # another process (here: another connection) re-imports only the Tsinghua extract, which
    # has no 清华东路 at this spot: every process hears it on commit and drops its tiles
    with psycopg.connect(basemap_db, row_factory=dict_row) as conn:
        import_basemap(conn, [p for p in DEMO_OSM if p.name.startswith("tsinghua")])
    deadline = time.monotonic() + 10
    while client.get(url).headers["x-tile-cache"] == "hit":
        assert time.monotonic() < deadline, "the cached tile outlived the re-import"
        time.sleep(0.05)
    after = client.get(url)
    assert after.content != first.content


def test_bad_tiles_and_a_missing_renderer_get_the_error_envelope(basemap_db: str) -> None:  # noqa: F811
    settings = settings_for(basemap_db)
    with TestClient(create_app(settings)) as c:
        res = c.get("/basemap/16/99999/0.png")
        assert res.status_code == 400
        assert res.json()["error"]["code"] == "bad_request"
        assert c.get("/basemap/30/0/0.png").status_code == 400
    settings.basemap.python = "/nonexistent/python3"
    with TestClient(create_app(settings)) as c:
        res = c.get("/basemap/12/3372/1551.png")
        assert res.status_code == 503
        body = res.json()["error"]
        assert body["code"] == "basemap_unavailable"
        assert "python3-mapnik" in body["message"]
