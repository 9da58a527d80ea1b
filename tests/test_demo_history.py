"""`gridgov demo`'s history (api/services/demo_history.py): three months of cases through the
workflow, overdue cases, the negative list, a whistle with every kind of check-in, and work for
each demo user; a second run adds nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from api.main import create_app
from api.services.demo import load_demo
from api.services.demo_history import HISTORY_INCIDENTS
from api.services.identity.auth import create_token
from tests.conftest import settings_for

FACTS = """
SELECT count(*) FILTER (WHERE is_demo) AS demo,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE status = 'rejected') AS rejected,
       count(*) FILTER (WHERE due_at < now() AND closed_at IS NULL) AS overdue,
       min(reported_at) AS oldest,
       (SELECT count(*) FROM incident_events WHERE action = 'verify'
          AND NOT (data->>'passed')::boolean) AS reworked,
       (SELECT count(*) FROM incident_events) AS events
FROM incidents
"""


def bearer(conn: Any, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(conn, name)}"}


def open_actions(client: TestClient, headers: dict[str, str]) -> set[str]:
    """Every action the user may take on the open cases it can see."""
    r = client.get(
        "/api/v1/incidents",
        params={"status": "reported,registered,dispatched,in_progress,handled", "limit": 1000},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out: set[str] = set()
    for f in r.json()["features"]:
        doc = client.get(f"/api/v1/incidents/{f['id']}", headers=headers).json()
        out |= set(doc["allowed_actions"])
    return out


def test_demo_history_gives_every_journey(empty_db: str) -> None:
    settings = settings_for(empty_db)
    with psycopg.connect(empty_db, row_factory=dict_row, autocommit=True) as conn:
        out = load_demo(conn, settings)
        assert out.history is not None
        assert out.history.incidents == HISTORY_INCIDENTS + 2 + 3 and out.history.whistles == 1
        facts = conn.execute(FACTS).fetchone()
        assert facts["demo"] == 48 + out.history.incidents
        assert facts["closed"] > 60 and facts["rejected"] > 0 and facts["reworked"] > 0
        assert facts["overdue"] >= 3
        assert facts["oldest"] < dt.datetime.now(dt.UTC) - dt.timedelta(days=80)
        heads = {n: bearer(conn, n) for n in ("demo-admin", "demo-dispatcher", "demo-cgzf")}
        heads["demo-officer"] = bearer(conn, "demo-officer")

        again = load_demo(conn, settings)
        assert again.history is not None and again.history.incidents == 0
        assert again.history.actions == 0 and again.history.whistles == 0
        assert conn.execute(FACTS).fetchone()["events"] == facts["events"]

    with TestClient(create_app(settings)) as client:
        start = (dt.date.today() - dt.timedelta(days=90)).isoformat()
        flags = client.get(
            "/api/v1/stats/flags", params={"from": start}, headers=heads["demo-admin"]
        )
        assert flags.status_code == 200, flags.text
        flagged = {(f["kind"], f["code"]) for f in flags.json()["flags"]}
        assert ("department", "CGZF-014") in flagged or ("department", "SWJ") in flagged
        stats = client.get(
            "/api/v1/stats", params={"group_by": "department"}, headers=heads["demo-admin"]
        )
        assert stats.status_code == 200, stats.text
        rates = [r["on_time_handling_rate"] for r in stats.json()["rows"]]
        assert sum(r is not None for r in rates) >= 3  # the last 30 days have colour

        whistles = client.get("/api/v1/whistles", headers=heads["demo-dispatcher"]).json()
        [w] = whistles["whistles"]
        assert sorted(k["state"] for k in w["check_ins"]) == ["late", "missing", "on_time"]

        assert {"register", "whistle"} <= open_actions(client, heads["demo-dispatcher"])
        assert "accept" in open_actions(client, heads["demo-cgzf"])
        assert "verify" in open_actions(client, heads["demo-officer"])
