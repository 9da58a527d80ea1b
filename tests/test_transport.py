"""CORS on the machine doors only, zstd or gzip when asked (tiles kept compressed), HEAD on
Open311/OGC."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import mapbox_vector_tile
import pytest
import zstandard
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import StreamingResponse

from api.main import create_app
from api.settings import HttpSettings
from api.transport import Compression
from tests.conftest import settings_for
from tests.test_tiles import tile_of

ORIGIN = "https://gis.example.gov.cn"
OTHER = "https://evil.example.com"


@pytest.fixture
def cors(world_db: str) -> Iterator[TestClient]:
    """An app that lets one other origin in."""
    s = settings_for(world_db)
    s.http.cors_origins = f"{ORIGIN}/, https://second.example.org"
    with TestClient(create_app(s)) as client:
        yield client


def preflight(client: TestClient, path: str, method: str, headers: str = "") -> httpx.Response:
    h = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=h)


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        pytest.param("/ogc/collections/areas-grid/items", "GET", "authorization", id="ogc"),
        pytest.param("/tiles/areas/12/3370/1552.pbf", "GET", "", id="tiles"),
        pytest.param("/open311/v2/requests.json", "POST", "content-type", id="open311"),
        pytest.param("/api/v1/locate", "GET", "", id="locate"),
        pytest.param("/api/v1/categories", "GET", "accept-language", id="categories"),
    ],
)
def test_preflight_is_answered_on_machine_doors(
    cors: TestClient, path: str, method: str, headers: str
) -> None:
    r = preflight(cors, path, method, headers)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert method in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers  # never with cookies


def test_simple_requests_carry_the_origin_and_expose_headers(cors: TestClient) -> None:
    r = cors.get("/ogc/collections", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "ETag" in r.headers["access-control-expose-headers"]
    # the second configured origin works too; an unlisted one gets no CORS header
    second = cors.get("/api/v1/categories", headers={"Origin": "https://second.example.org"})
    assert second.headers["access-control-allow-origin"] == "https://second.example.org"
    evil = cors.get("/ogc/collections", headers={"Origin": OTHER})
    assert evil.status_code == 200 and "access-control-allow-origin" not in evil.headers
    assert preflight(cors, "/ogc/collections", "GET").status_code == 200
    bad = cors.options(
        "/ogc/collections", headers={"Origin": OTHER, "Access-Control-Request-Method": "GET"}
    )
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers


def test_errors_from_machine_doors_carry_cors_headers(cors: TestClient) -> None:
    r = cors.get("/api/v1/locate?lon=121.0&lat=38.5", headers={"Origin": ORIGIN})
    assert r.status_code == 422 and r.json()["error"]["code"] == "outside_service_area"
    assert r.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/login", "POST"),  # cookie-authenticated page routes: never cross-origin
        ("/map/dispatch", "GET"),
        ("/api/v1/session", "GET"),
        ("/api/v1/incidents", "POST"),  # writes of the JSON API: not a public read
        ("/api/v1/incidents/20260101-000001/actions", "POST"),
        ("/api/v1/stats", "GET"),
        ("/api/v1/areas/110199001001001/history", "GET"),
    ],
)
def test_no_cors_on_pages_sessions_and_writes(cors: TestClient, path: str, method: str) -> None:
    r = preflight(cors, path, method)
    assert "access-control-allow-origin" not in r.headers, (path, r.headers)
    assert r.status_code in {400, 405}
    simple = cors.get(path, headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


def test_public_reads_take_get_and_head_only(cors: TestClient) -> None:
    r = preflight(cors, "/api/v1/locate", "POST")
    assert r.status_code == 400 and r.text == "Disallowed CORS method"
    assert "POST" not in r.headers["access-control-allow-methods"]


def test_cors_is_off_by_default(world: TestClient) -> None:
    r = world.get("/ogc/collections", headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert preflight(world, "/ogc/collections", "GET").status_code == 405


def stamped_alike(body: bytes, other: bytes) -> bool:
    """Two OGC item pages are the same but for their `timeStamp` (the second each was made in:
    two requests may fall on either side of a second)."""
    a, b = json.loads(body), json.loads(other)
    a.pop("timeStamp"), b.pop("timeStamp")
    return bool(a == b)


def test_json_is_gzipped_when_asked(world: TestClient) -> None:
    path = "/ogc/collections/areas-grid/items?limit=50"
    plain = world.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    with world.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    assert len(raw) < len(plain.content)
    assert stamped_alike(gzip.decompress(raw), plain.content)


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "zstd"),  # what Chrome sends
        ("zstd", "zstd"),
        ("zstd;q=0, gzip", "gzip"),
        ("zstd;q=0", None),
        ("gzip, *, zstd;q=0", "gzip"),  # a coding's own weight over the wildcard's
        ("br;q=1, *;q=0.5", "zstd"),
    ],
)
def test_zstd_to_the_clients_that_accept_it(
    world: TestClient, accept: str, coding: str | None
) -> None:
    path = "/ogc/collections/areas-grid/items?limit=50"
    plain = world.get(path, headers={"Accept-Encoding": "identity"})
    with world.stream("GET", path, headers={"Accept-Encoding": accept}) as r:
        raw = b"".join(r.iter_raw())
        headers = r.headers
    assert headers.get("content-encoding") == coding
    assert "Accept-Encoding" in headers["vary"]
    unpack = {"zstd": zstandard.ZstdDecompressor().decompressobj().decompress}
    unpack |= {"gzip": gzip.decompress, None: bytes}
    assert stamped_alike(unpack[coding](raw), plain.content)
    if coding is not None:
        assert int(headers["content-length"]) == len(raw) < len(plain.content)


def test_zstd_streams_a_body_sent_in_parts() -> None:
    """A streamed body is compressed part by part (each flushed, so a client can read it as it
    comes) and decodes to the whole; a small body and an event stream pass as they are."""
    parts = [f"行,{i},网格巡查\n".encode() * 200 for i in range(5)]
    app = FastAPI()

    @app.get("/parts")
    def streamed() -> StreamingResponse:
        return StreamingResponse(iter(parts), media_type="text/csv")

    @app.get("/events")
    def events() -> StreamingResponse:
        return StreamingResponse(iter(parts), media_type="text/event-stream")

    @app.get("/small")
    def small() -> dict[str, str]:
        return {"ok": "小"}

    app.add_middleware(Compression, http=HttpSettings())
    with TestClient(app) as client:
        with client.stream("GET", "/parts", headers={"Accept-Encoding": "zstd"}) as r:
            chunks = list(r.iter_raw())
            assert r.headers["content-encoding"] == "zstd"
            assert "content-length" not in r.headers
        stream = zstandard.ZstdDecompressor().decompressobj()
        # each part is flushed as it goes: the first chunk alone decodes to the first part
        assert stream.decompress(chunks[0]) == parts[0]
        assert parts[0] + b"".join(stream.decompress(c) for c in chunks[1:]) == b"".join(parts)
        sse = client.get("/events", headers={"Accept-Encoding": "zstd"})
        assert "content-encoding" not in sse.headers and sse.content == b"".join(parts)
        tiny = client.get("/small", headers={"Accept-Encoding": "zstd"})
        assert "content-encoding" not in tiny.headers and tiny.json() == {"ok": "小"}


def test_tiles_are_kept_compressed_in_the_cache(world: TestClient) -> None:
    path = "/tiles/areas/12/{}/{}.pbf".format(*tile_of(116.020, 39.020, 12))
    plain = world.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.headers["x-tile-cache"] == "miss" and "content-encoding" not in plain.headers
    assert mapbox_vector_tile.decode(plain.content)["areas"]["features"]
    with world.stream("GET", path, headers={"Accept-Encoding": "gzip, br"}) as r:
        raw = b"".join(r.iter_raw())
        headers = r.headers
    assert headers["x-tile-cache"] == "hit" and headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert "Accept-Encoding" in headers["vary"]
    # the compressed tile is its own representation: its own strong ETag, and 304 on it
    assert headers["etag"] != plain.headers["etag"]
    again = world.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})
    assert again.status_code == 304
    # the cached entry holds the compressed bytes: a hit compresses nothing
    cached = [t for t in world.app.state.tile_cache._entries.values() if t.data == plain.content]
    assert cached and cached[0].gzipped == raw
    refused = world.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == plain.content


@pytest.mark.parametrize(
    "path",
    ["/open311/v2/services.json", "/open311/v2/discovery.xml", "/ogc/collections", "/ogc"],
)
def test_head_answers_like_get_without_a_body(world: TestClient, path: str) -> None:
    get = world.get(path, headers={"Accept-Encoding": "identity"})
    head = world.head(path, headers={"Accept-Encoding": "identity"})
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))
