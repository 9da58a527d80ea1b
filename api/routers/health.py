"""Liveness with a real database check."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ConnDep
from api.responses import JSON

router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=JSON)
def healthz(request: Request, conn: ConnDep) -> JSON:
    """200 when the database answers and PostGIS is installed; `reads`: where lag-tolerant
    reads go now (the replica, or the primary and why)."""
    row = conn.execute("SELECT postgis_lib_version() AS postgis").fetchone()
    assert row is not None
    reads = request.app.state.read_pool.status()
    return JSON({"status": "ok", "database": "ok", "postgis": row["postgis"], "reads": reads})
