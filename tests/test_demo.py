"""`gridgov demo` on an empty database: real data, idempotent, and a report lands in a grid."""

from __future__ import annotations

import json

import psycopg
from fastapi.testclient import TestClient
from shapely.geometry import shape
from typer.testing import CliRunner

from api.cli import app
from api.main import create_app
from api.services.demo import DATA_DIR
from api.services.demo_history import HISTORY_INCIDENTS
from tests.conftest import settings_for

COUNTS = """
SELECT (SELECT count(*) FROM areas) AS areas, (SELECT count(*) FROM buildings) AS buildings,
       (SELECT count(*) FROM incidents) AS incidents, (SELECT count(*) FROM categories) AS cats,
       (SELECT count(*) FROM routing_rules) AS rules, (SELECT count(*) FROM departments) AS deps,
       (SELECT count(*) FROM incident_events) AS events
"""


def test_demo_loads_real_data_idempotently_and_serves_reports(empty_db):
    env = {"GRIDGOV_DATABASE_URL": empty_db}
    first = CliRunner().invoke(app, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    with psycopg.connect(empty_db) as conn:
        before = conn.execute(COUNTS).fetchone()
        levels = dict(
            conn.execute(
                "SELECT level, count(*) FROM areas WHERE valid_to IS NULL GROUP BY level"
            ).fetchall()
        )
        demo_flags = conn.execute("SELECT bool_and(is_demo) FROM incidents").fetchone()
    grids = json.loads((DATA_DIR / "grids.geojson").read_text(encoding="utf-8"))["features"]
    assert levels == {"district": 1, "street": 2, "community": 9, "grid": len(grids)}
    # today's 48 reports, and the history's dated cases (tests/test_demo_history.py)
    assert before[1] == 778 and before[2] == 48 + HISTORY_INCIDENTS + 5 and demo_flags == (True,)
    users = [line.split() for line in first.output.splitlines() if line.startswith("  demo-")]
    assert sorted((u[0], u[1]) for u in users) == [
        ("demo-admin", "admin"),
        ("demo-cgzf", "department"),
        ("demo-dispatcher", "dispatcher"),
        ("demo-officer", "officer"),
    ]
    second = CliRunner().invoke(app, ["demo"], env=env)
    assert second.exit_code == 0 and "0 new, 48 already there" in second.output
    assert "demo history: 0 cases, 0 workflow steps, 0 whistles" in second.output
    assert "demo users" not in second.output  # created once; passwords never shown again
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(COUNTS).fetchone() == before

    grid = grids[10]
    point = shape(grid["geometry"]).representative_point()
    with TestClient(create_app(settings_for(empty_db))) as client:
        r = client.post(
            "/api/v1/incidents",
            json={
                "category": "SH0101",
                "description": "邻里纠纷",
                "location": {"lon": point.x, "lat": point.y},
            },
        )
        assert r.status_code == 201, r.text
        a = r.json()["assignment"]
        assert a["grid"]["code"] == grid["properties"]["code"]
        assert a["department"]["code"].startswith("SFS-")  # street mediation office
        password = dict((u[0], u[2]) for u in users)["demo-dispatcher"]
        signed = client.post(
            "/login", data={"name": "demo-dispatcher", "password": password}, follow_redirects=False
        )
        assert signed.status_code == 303
        assert client.get("/api/v1/session").json()["user"]["area"] == "110108010"
        client.cookies.clear()
        sea = client.post(
            "/api/v1/incidents",
            json={"category": "SH0101", "location": {"lon": 121.0, "lat": 38.5}},
        )
        assert sea.status_code == 422 and sea.json()["error"]["code"] == "outside_service_area"
