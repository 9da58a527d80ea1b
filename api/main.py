"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db.session import database_url, open_pool
from api.errors import install_error_handlers
from api.limits import install as install_limits
from api.open311 import install as install_open311
from api.openapi import install as install_openapi
from api.responses import JSON
from api.routers import areas_edit as areas_edit_router
from api.routers import catalogue as catalogue_router
from api.routers import docs as docs_router
from api.routers import early_warning as early_warning_router
from api.routers import health, incidents, locate, ogc, pages, reference
from api.routers import notify as notify_router
from api.routers import pages_edit as pages_edit_router
from api.routers import pages_workflow as pages_workflow_router
from api.routers import reports as reports_router
from api.routers import session as session_router
from api.routers import stats as stats_router
from api.routers import stats_page as stats_page_router
from api.routers import stream as stream_router
from api.routers import tiles as tiles_router
from api.routers import workflow as workflow_router
from api.services.notify_worker import NotifyWorker
from api.services.tile_cache import TileCache
from api.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the connection pool opens in the lifespan, never at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = open_pool(settings.db)
        app.state.tile_cache.listen(database_url(settings.db))  # invalidations from any process
        worker = NotifyWorker(settings) if settings.notify.notify_worker else None
        if worker is not None:
            worker.start()  # the outbox: e-mail and webhooks (SKIP LOCKED across nodes)
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            app.state.tile_cache.close()
            app.state.pool.close()

    app = FastAPI(
        title="GridGov",
        version="0.1.0",
        summary="Spatial service for grid-based governance (网格化数字治理)",
        lifespan=lifespan,
        default_response_class=JSON,
        docs_url=None,  # FastAPI's /docs and /redoc load from a CDN; ours is api/routers/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tile_cache = TileCache(settings.tiles.cache_size)  # one per process; see tile_cache
    install_error_handlers(app)
    install_limits(app, settings)  # 413 big bodies, 429 report/login bursts, page headers
    for module in (health, locate, incidents, reference, ogc):
        app.include_router(module.router)
    app.include_router(workflow_router.router)  # actions, whistles, check-ins
    app.include_router(stream_router.router)  # GET /api/v1/stream (SSE)
    app.include_router(areas_edit_router.router)  # boundary editing, history, coverage
    install_open311(app)  # /open311/v2: GeoReport v2, errors in Open311's own form
    app.include_router(session_router.router)  # /login, /logout, /api/v1/session
    app.include_router(tiles_router.router)  # /tiles: vector tiles and TileJSON
    app.include_router(stats_router.router)  # /api/v1/stats: 综合评价, negative list, trend
    app.include_router(early_warning_router.router)  # /api/v1/hotspots, /api/v1/repeats
    app.include_router(catalogue_router.router)  # /api/v1/catalogue: 4+X services
    app.include_router(notify_router.router)  # /api/v1/notifications: the outbox (admin)
    app.include_router(reports_router.router)  # /api/v1/reports: the reporter's side, 回访
    app.include_router(stats_page_router.router)  # /map/stats: the evaluation map
    app.include_router(pages_workflow_router.router)  # /map/dispatch, /report, /report/{id}
    app.include_router(pages_edit_router.router)  # /map/edit: the boundary editor
    pages.install(app)  # GET / and the other pages, plus /static (Leaflet, gridgov.js)
    app.include_router(docs_router.router)  # GET /docs: Swagger UI from /static, offline
    install_openapi(app)  # /openapi.json: every error and body as really sent
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and `gridgov serve`: settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Settings())
