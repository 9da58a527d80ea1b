"""The app the benchmarks serve: GridGov's own factory plus a reference endpoint, bench-only.

`POST /bench/insert` takes the same body as `POST /api/v1/incidents`, validates it with the same
schema and INSERTs one row through the same pool and dependencies: the floor any report endpoint
in this server setup pays (HTTP, FastAPI, JSON, one pooled connection, one commit). It is mounted
here only, never in the product.

    uvicorn bench.app:bench_app --factory --workers 2
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from psycopg import Connection

from api.deps import ConnDep
from api.main import create_app, freeze_startup
from api.responses import JSON
from api.schemas.incidents import IncidentIn
from api.settings import Settings

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_inserts (
    id bigserial PRIMARY KEY,
    category text NOT NULL,
    geom geometry(Point, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

INSERT_SQL = """
INSERT INTO bench_inserts (category, geom)
VALUES (%(category)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
RETURNING id, created_at
"""


def insert_reference(conn: Connection[Any], report: IncidentIn) -> dict[str, Any]:
    """The reference's work below HTTP: one row for the report, its id and time."""
    lon, lat, _crs = report.xy_crs()
    row = conn.execute(
        INSERT_SQL, {"category": report.category, "lon": lon, "lat": lat}, prepare=True
    ).fetchone()
    assert row is not None
    return {"id": row["id"], "created_at": row["created_at"]}


def bench_app() -> FastAPI:
    """GridGov's app (settings from the environment) with the reference endpoint added."""
    app = create_app(Settings())

    @app.post("/bench/insert", response_class=JSON, status_code=201)
    def insert_one(report: IncidentIn, conn: ConnDep) -> JSON:
        """The reference: validate the report body, INSERT one row, answer 201."""
        return JSON(insert_reference(conn, report), status_code=201)

    return freeze_startup(app)  # as api.main.app_from_env
