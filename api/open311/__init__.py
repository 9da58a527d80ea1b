"""Open311 GeoReport v2 (/open311/v2): city apps report and follow problems with no adapter."""

from __future__ import annotations

from fastapi import FastAPI

from api.open311.render import install_error_handler
from api.open311.router import router


def install(app: FastAPI) -> None:
    """Add the Open311 routes and the handler that answers their errors in Open311 form."""
    install_error_handler(app)
    app.include_router(router)
