"""The JSON lists paged by hand (my reports, whistles, the notification outbox) give `next_cursor`
only when more rows follow, as the GeoJSON lists do (tests/test_area_pages.py): a page holding
exactly the rest has none, so no client asks for an empty page."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.loop import advance_to, ok
from tests.notify_util import client_fixture, settings_fixture  # noqa: F401 (fixtures)
from tests.test_notify import report_with

SIGNED = {"category": "SJ0102", "location": {"lon": 116.010, "lat": 39.020}}


def ids_paged(
    client: TestClient, path: str, key: str, headers: dict[str, str], **params: Any
) -> list[Any]:
    """Every id of `path`, checking the cursor at the edge: the whole list in one page has no
    cursor, a page one short has one, and the page after it holds the last row and none."""
    whole = client.get(path, params={**params, "limit": 1000}, headers=headers)
    assert whole.status_code == 200, whole.text
    assert whole.json()["next_cursor"] is None, path  # the whole list in one page
    rows = whole.json()[key]
    n = len(rows)
    assert n >= 2, (path, n)
    exact = client.get(path, params={**params, "limit": n}, headers=headers).json()
    assert exact["numberReturned"] == n and exact["next_cursor"] is None, path
    first = client.get(path, params={**params, "limit": n - 1}, headers=headers).json()
    assert first["numberReturned"] == n - 1 and first["next_cursor"], path
    rest = client.get(
        path, params={**params, "limit": n - 1, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert rest["numberReturned"] == 1 and rest["next_cursor"] is None, path
    paged = [r["id"] for r in first[key] + rest[key]]
    assert paged == [r["id"] for r in rows], path
    return paged


def test_my_reports_page_to_the_last_without_an_empty_one(client: TestClient, cast: Any) -> None:
    made = []
    for _ in range(3):
        r = client.post("/api/v1/incidents", json=SIGNED, headers=cast.resident)
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    mine = ids_paged(client, "/api/v1/reports/mine", "reports", cast.resident)
    assert mine[:3] == made[::-1]  # newest first


def test_whistles_page_to_the_last_without_an_empty_one(client: TestClient, cast: Any) -> None:
    called = []
    for _ in range(2):
        inc = report_with(client, {"phone": "138 0000 0000"})
        advance_to(client, cast, inc, "dispatched")
        r = client.post(
            f"/api/v1/incidents/{inc}/whistle", json={"departments": ["WATER"]}, headers=cast.disp
        )
        assert r.status_code == 201, r.text
        called.append(r.json()["id"])
    paged = ids_paged(client, "/api/v1/whistles", "whistles", cast.disp, open="true")
    assert paged[-2:] == called  # oldest first


def test_the_outbox_pages_to_the_last_without_an_empty_one(client: TestClient, cast: Any) -> None:
    for _ in range(2):
        inc = report_with(client, {"email": "resident@example.cn", "notify": True})
        ok(client, inc, cast.disp, "register")
    paged = ids_paged(client, "/api/v1/notifications", "notifications", cast.admin)
    assert paged == sorted(paged, reverse=True)  # newest first
