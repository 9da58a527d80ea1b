"""GET /metrics: Prometheus text for admins, with requests by route template, pool and tiles."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.test_tiles import tile_of


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_need_an_admin(world: TestClient, token_for) -> None:
    assert world.get("/metrics").status_code == 401
    r = world.get("/metrics", headers=token_for("m-officer", "officer", area="110199001001"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_requests_pool_and_tile_cache_are_counted(world: TestClient, token_for) -> None:
    admin = token_for("m-admin", "admin")
    for _ in range(3):
        assert world.get("/api/v1/categories").status_code == 200
    assert world.get("/api/v1/incidents/20990101-000001").status_code == 404
    tile = "/tiles/areas/12/{}/{}.pbf".format(*tile_of(116.020, 39.020, 12))
    world.get(tile), world.get(tile)
    r = world.get("/metrics", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    key = (("method", "GET"), ("route", "/api/v1/categories"), ("status", "200"))
    assert got[("gridgov_http_requests_total", key)] == 3
    by_template = (
        ("method", "GET"),
        ("route", "/api/v1/incidents/{incident_id}"),
        ("status", "404"),
    )
    assert got[("gridgov_http_requests_total", by_template)] == 1
    assert not any("20990101" in str(labels) for _name, labels in got)  # no raw paths
    latency = (("method", "GET"), ("route", "/api/v1/categories"))
    assert got[("gridgov_http_request_duration_seconds_count", latency)] == 3
    assert got[("gridgov_tile_cache_hits_total", ())] == 1
    assert got[("gridgov_tile_cache_misses_total", ())] == 1
    assert got[("gridgov_tile_cache_entries", ())] == 1
    assert got[("gridgov_db_pool_pool_size", ())] >= 1
    assert got[("gridgov_db_pool_requests_num_total", ())] >= 5
    assert got[("gridgov_notify_outbox_pending", ())] == 0  # nothing waits in a fresh world


def test_outbox_backlog_is_a_gauge(world: TestClient, token_for, db) -> None:
    db.execute(
        "INSERT INTO notifications (delivery_id, rule, channel, address, payload) "
        "SELECT gen_random_uuid(), 'reporter', 'email', 'a@example.org', '{}' "
        "FROM generate_series(1, 3)"
    )
    db.commit()
    r = world.get("/metrics", headers=token_for("m-admin2", "admin"))
    assert samples(r.text)[("gridgov_notify_outbox_pending", ())] == 3
