"""Liveness with a real database check."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnDep
from api.responses import JSON

router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=JSON)
def healthz(conn: ConnDep) -> JSON:
    """200 when the database answers and PostGIS is installed."""
    row = conn.execute("SELECT postgis_lib_version() AS postgis").fetchone()
    assert row is not None
    return JSON({"status": "ok", "database": "ok", "postgis": row["postgis"]})
