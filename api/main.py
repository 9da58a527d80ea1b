"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db.session import open_pool
from api.errors import install_error_handlers
from api.responses import JSON
from api.routers import health, incidents, locate, pages, reference
from api.routers import session as session_router
from api.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the connection pool opens in the lifespan, never at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = open_pool(settings.db)
        try:
            yield
        finally:
            app.state.pool.close()

    app = FastAPI(
        title="GridGov",
        version="0.1.0",
        summary="Spatial service for grid-based governance (网格化数字治理)",
        lifespan=lifespan,
        default_response_class=JSON,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (health, locate, incidents, reference):
        app.include_router(module.router)
    app.include_router(session_router.router)  # /login, /logout, /api/v1/session
    pages.install(app)  # GET / and the other pages, plus /static (Leaflet, gridgov.js)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and `gridgov serve`: settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Settings())
