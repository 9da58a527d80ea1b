"""Helpers for patrol tests: a walk of fixes inside grid G1 and posting them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

LAT_M = 1 / 111_195  # degrees of latitude per metre


@dataclass(frozen=True)
class Screen:
    """Where the patrol page is tried (the `screen` fixture): a phone in Chinese and a desk
    screen in English."""

    size: tuple[int, int]
    lang: str


SCREENS = [Screen((390, 844), "zh_CN"), Screen((1366, 768), "en")]


def fix(
    client_id: str, t: dt.datetime, lon: float, lat: float, accuracy: float = 8.0
) -> dict[str, Any]:
    """One position as a patrol phone sends it (accuracy in metres)."""
    return {"id": client_id, "t": t.isoformat(), "lon": lon, "lat": lat, "accuracy": accuracy}


def walk(
    start: dt.datetime, n: int, *, lon: float = 116.010, lat: float = 39.010, step_m: float = 14.0
) -> list[dict[str, Any]]:
    """`n` fixes 10 s apart walking north at step_m per fix (1.4 m/s: walking)."""
    return [
        fix(f"p{i}", start + dt.timedelta(seconds=10 * i), lon, lat + i * step_m * LAT_M)
        for i in range(n)
    ]


def start(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/patrols", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def send(client: Any, patrol: int, headers: dict[str, str], fixes: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/patrols/{patrol}/points", json={"fixes": fixes}, headers=headers)


def fold(url: str) -> str:
    """`gridgov patrols fold` on database `url` (what each app process does every
    GRIDGOV_PATROL_FOLD_S); its output."""
    from typer.testing import CliRunner

    from api.cli import app

    r = CliRunner().invoke(app, ["patrols", "fold"], env={"GRIDGOV_DATABASE_URL": url})
    assert r.exit_code == 0, (r.output, r.exception)
    return str(r.output)
