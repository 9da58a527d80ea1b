"""Abuse limits with clear 4xx: body size (413), area geometry size (422), rate limits (429),
and the security headers every response carries (CSP with hashed inline scripts on pages)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.limits import RateRule
from api.main import create_app
from api.security_headers import page_policy, script_hashes, tile_source
from tests.areas_util import C1, STRIP, counts, grid_feature
from tests.conftest import settings_for

REPORT = {"category": "SJ0102", "description": "垃圾", "location": {"lon": 116.01, "lat": 39.02}}


@pytest.fixture
def strict(world_db: str) -> Iterator[TestClient]:
    """An app with small limits: 2 KiB bodies, 10 vertices, 2 parts, bursts of 2."""
    s = settings_for(world_db)
    s.limits.max_body_bytes = 2048
    s.limits.max_polygon_vertices = 10
    s.limits.max_polygon_parts = 2
    s.limits.report_burst = s.limits.login_burst = 2
    with TestClient(create_app(s)) as client:
        yield client


def test_oversized_body_is_413_with_the_envelope(strict: TestClient, db: Any) -> None:
    before = counts(db)
    big = {**REPORT, "description": "x" * 5000}
    r = strict.post("/api/v1/incidents", json=big)
    assert r.status_code == 413
    assert r.json()["error"] == {
        "code": "body_too_large",
        "message": "The request body is larger than this server accepts (2048 bytes).",
        "details": {"max_bytes": 2048},
    }
    assert counts(db) == before


def test_oversized_chunked_body_is_413(strict: TestClient, db: Any) -> None:
    before = counts(db)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield b'{"category": "SJ0102", "description": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'", "location": {"lon": 116.01, "lat": 39.02}}'

    r = strict.post(
        "/api/v1/incidents", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert counts(db) == before


def test_small_chunked_body_passes(strict: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"category": "SJ0102", "description": "ok", '
        yield b'"location": {"lon": 116.01, "lat": 39.02}}'

    r = strict.post(
        "/api/v1/incidents", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text


def ring(n: int, x0: float = 116.049, y0: float = 39.0) -> list[list[float]]:
    """A closed ring of n vertices along the STRIP's edges (valid, inside community C1)."""
    pts = [[x0, y0 + 0.05 * i / (n - 4)] for i in range(n - 3)]
    return [*pts, [x0 + 0.001, y0 + 0.05], [x0 + 0.001, y0], [x0, y0]]


def test_polygon_with_too_many_vertices_is_422(strict: TestClient, db: Any, admin: Any) -> None:
    before = counts(db)
    feature = grid_feature(STRIP)
    feature["geometry"] = {"type": "Polygon", "coordinates": [ring(11)]}
    r = strict.post("/api/v1/areas", json=feature, headers=admin)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "geometry_too_large"
    assert err["details"] == {"part": 0, "vertices": 11, "max_vertices": 10}
    assert counts(db) == before


def test_too_many_parts_is_422_on_put_too(strict: TestClient, db: Any, admin: Any) -> None:
    before = counts(db)
    square = [[[116.0, 39.0], [116.001, 39.0], [116.001, 39.001], [116.0, 39.0]]]
    feature = {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": [square, square, square]},
        "properties": {},
    }
    r = strict.put(f"/api/v1/areas/{C1}", json=feature, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == {"parts": 3, "max_parts": 2}
    assert counts(db) == before


def test_polygon_within_limits_is_saved(strict: TestClient, admin: Any) -> None:
    feature = grid_feature(STRIP)
    feature["geometry"] = {"type": "Polygon", "coordinates": [ring(10)]}
    r = strict.post("/api/v1/areas", json=feature, headers=admin)
    assert r.status_code == 201, r.text


def test_public_reporting_burst_is_429_with_retry_after(
    strict: TestClient, db: Any, token_for: Any
) -> None:
    assert [strict.post("/api/v1/incidents", json=REPORT).status_code for _ in range(2)] == [
        201,
        201,
    ]
    before = counts(db)
    r = strict.post("/api/v1/incidents", json=REPORT)
    assert r.status_code == 429
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= 2  # 30 a minute: a token every 2 s, less what refilled since the burst
    err = r.json()["error"]
    assert err["code"] == "rate_limited"
    assert err["details"] == {"retry_after": wait, "limit": "report"}
    assert counts(db) == before
    # Open311 POST shares the public-reporting bucket
    assert (
        strict.post("/open311/v2/requests.json", data={"service_code": "SJ0102"}).status_code == 429
    )
    # token holders are not limited by address
    resident = token_for("res", "resident")
    assert strict.post("/api/v1/incidents", json=REPORT, headers=resident).status_code == 201


def test_login_burst_is_429(strict: TestClient) -> None:
    form = {"name": "nobody", "password": "wrong-password", "next": "/"}
    first = [strict.post("/login", data=form, follow_redirects=False).status_code for _ in range(2)]
    assert 429 not in first
    r = strict.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 6  # 10 a minute
    assert r.json()["error"]["code"] == "rate_limited"


def test_token_bucket_refills_at_its_rate() -> None:
    rule = RateRule("report", per_minute=60, burst=2)
    assert [rule.take("a", 0.0), rule.take("a", 0.0)] == [0.0, 0.0]
    assert rule.take("a", 0.0) == pytest.approx(1.0)
    assert rule.take("b", 0.0) == 0.0  # per address
    assert rule.take("a", 1.0) == 0.0  # one token back after a second
    assert rule.take("a", 1.0) == pytest.approx(1.0)
    assert RateRule("off", per_minute=0, burst=1).take("a", 0.0) == 0.0


def test_pages_get_a_csp_with_their_inline_script_hashes(world: TestClient) -> None:
    r = world.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    hashes = script_hashes(r.content)
    assert hashes  # folium's map setup
    assert csp == page_policy(r.content)
    assert f"script-src 'self' {' '.join(hashes)};" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"


def test_api_responses_carry_the_plain_headers(world: TestClient) -> None:
    r = world.get("/api/v1/categories")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers


def test_script_hashes_and_tile_sources() -> None:
    html = b"<script src='/static/a.js'></script><script>alert(1)</script><SCRIPT>x</SCRIPT>"
    assert script_hashes(html) == [
        "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='",
        "'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='",
    ]
    assert tile_source("https://tile.example.org/{z}/{x}/{y}.png") == "https://tile.example.org"
    assert tile_source("https://{s}.tile.osm.org/{z}/{x}/{y}.png") == "https://*.tile.osm.org"
    assert tile_source("") is None
