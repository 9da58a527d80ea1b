"""Helpers for patrol tests: a walk of fixes inside grid G1 and posting them."""

from __future__ import annotations

import datetime as dt
from typing import Any

LAT_M = 1 / 111_195  # degrees of latitude per metre


def walk(
    start: dt.datetime, n: int, *, lon: float = 116.010, lat: float = 39.010, step_m: float = 14.0
) -> list[dict[str, Any]]:
    """`n` fixes 10 s apart walking north at step_m per fix (1.4 m/s: walking)."""
    return [
        {
            "id": f"p{i}",
            "t": (start + dt.timedelta(seconds=10 * i)).isoformat(),
            "lon": lon,
            "lat": lat + i * step_m * LAT_M,
            "accuracy": 8.0,
        }
        for i in range(n)
    ]


def start(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/patrols", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def send(client: Any, patrol: int, headers: dict[str, str], fixes: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/patrols/{patrol}/points", json={"fixes": fixes}, headers=headers)
