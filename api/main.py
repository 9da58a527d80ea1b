"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from api.db.budget import measure
from api.db.read_pool import open_read_pool
from api.db.session import database_url, open_pool
from api.errors import install_error_handlers
from api.limits import install as install_limits
from api.metrics import add_gauge
from api.metrics import install as install_metrics
from api.open311 import install as install_open311
from api.openapi import install as install_openapi
from api.responses import JSON
from api.routers import docs as docs_router
from api.routers import health
from api.routers import patrols as patrols_router
from api.routers import session as session_router
from api.routers.boundaries import areas as areas_edit_router
from api.routers.evaluation import early_warning as early_warning_router
from api.routers.evaluation import stats as stats_router
from api.routers.intake import catalogue as catalogue_router
from api.routers.intake import locate, reference
from api.routers.intake import photos as photos_router
from api.routers.intake import reports as reports_router
from api.routers.interop import basemap as basemap_router
from api.routers.interop import ogc
from api.routers.interop import tiles as tiles_router
from api.routers.pages import edit as pages_edit_router
from api.routers.pages import home as pages
from api.routers.pages import stats as stats_page_router
from api.routers.pages import workflow as pages_workflow_router
from api.routers.workflow import actions as workflow_router
from api.routers.workflow import case_print as case_print_router
from api.routers.workflow import incidents
from api.routers.workflow import notify as notify_router
from api.routers.workflow import stream as stream_router
from api.services.basemap.render import BasemapRenderer
from api.services.evaluation.hotspot_cache import HotspotCache
from api.services.evaluation.warm import TrendWarmer
from api.services.interop.tile_cache import TileCache
from api.services.notifications.admin import outbox_backlog
from api.services.notifications.worker import NotifyWorker
from api.services.patrols.folder import CoverageFolder
from api.services.workflow.stream_hub import StreamHub
from api.settings import Settings
from api.transport import install as install_transport

log = logging.getLogger("gridgov")


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the connection pool opens in the lifespan, never at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = open_pool(settings.db)
        try:
            check_budget(app.state.pool, settings)  # pool × workers + listeners + reserve
        except BaseException:
            app.state.pool.close()
            raise
        # reads that tolerate lag: the replica if configured (api/db/read_pool.py)
        app.state.read_pool = open_read_pool(settings.db, app.state.pool)
        app.state.tile_cache.listen(database_url(settings.db))  # invalidations from any process
        worker = NotifyWorker(settings) if settings.notify.notify_worker else None
        if worker is not None:
            worker.start()  # the outbox: e-mail and webhooks (SKIP LOCKED across nodes)
        folder = (
            CoverageFolder(settings, app.state.pool) if settings.patrols.patrol_fold_s else None
        )
        if folder is not None:
            folder.start()  # patrol coverage kept current (one fold at a time across nodes)
        warmer = TrendWarmer(settings, app.state.pool) if settings.evaluation.trend_warm_s else None
        if warmer is not None:
            warmer.start()  # the large groups' trends kept warm (one at a time across nodes)
        try:
            yield
        finally:
            await app.state.stream_hub.close()
            if worker is not None:
                worker.stop()
            if folder is not None:
                folder.stop()
            if warmer is not None:
                warmer.stop()
            app.state.tile_cache.close()
            app.state.read_pool.close()
            app.state.basemap.close()
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
    app.state.hotspot_cache = HotspotCache()  # one per process; see hotspot_cache
    # one LISTEN connection per process for every SSE stream (api/services/workflow/stream_hub.py)
    app.state.stream_hub = StreamHub(
        database_url(settings.db), settings.api.stream_max_clients, settings.api.stream_per_user
    )

    # Render processes start on the first base map tile, not here.
    app.state.basemap = BasemapRenderer(settings.basemap, database_url(settings.db))
    install_error_handlers(app)
    install_limits(app, settings)  # 413 big bodies, 429 report/login bursts, page headers
    install_transport(app, settings.http)  # CORS on machine doors, gzip, HEAD
    install_metrics(app)  # GET /metrics (admins): requests, latencies, pool, tile cache
    add_gauge(
        app,
        "gridgov_notify_outbox_pending",
        "Notifications waiting to be delivered (e-mail, webhooks)",
        lambda: outbox_backlog(app.state.pool),
    )
    # First: routes are matched in order (a few µs each), and a batch of fixes comes every
    # minute from every officer on patrol; matched after the other ~80 routes it cost ≈ 0.2 ms
    # of CPU (docs/performance.md, issue 22). No other route matches its paths.
    app.include_router(patrols_router.ingest)  # POST /api/v1/patrols/{id}/points
    for module in (health, locate, incidents, reference, ogc):
        app.include_router(module.router)
    app.include_router(workflow_router.router)  # actions, whistles, check-ins
    app.include_router(photos_router.router)  # the case file's photos (issue 16)
    app.include_router(stream_router.router)  # GET /api/v1/stream (SSE)
    app.include_router(areas_edit_router.router)  # boundary editing, history, coverage
    install_open311(app)  # /open311/v2: GeoReport v2, errors in Open311's own form
    app.include_router(session_router.router)  # /login, /logout, /api/v1/session
    app.include_router(tiles_router.router)  # /tiles: vector tiles and TileJSON
    app.include_router(basemap_router.router)  # /basemap: the OSM base map as PNG tiles
    app.include_router(stats_router.router)  # /api/v1/stats: 综合评价, negative list, trend
    app.include_router(early_warning_router.router)  # /api/v1/hotspots, /api/v1/repeats
    app.include_router(catalogue_router.router)  # /api/v1/catalogue: 4+X services
    app.include_router(notify_router.router)  # /api/v1/notifications: the outbox (admin)
    app.include_router(reports_router.router)  # /api/v1/reports: the reporter's side, 回访
    app.include_router(stats_page_router.router)  # /map/stats: the evaluation map
    app.include_router(pages_workflow_router.router)  # /map/dispatch, /report, /report/{id}
    app.include_router(pages_edit_router.router)  # /map/edit: the boundary editor
    app.include_router(case_print_router.router)  # /cases/{id}/print: the A4 case file
    pages.install(app)  # GET / and the other pages, plus /static (Leaflet, gridgov.js)
    app.include_router(patrols_router.router)  # /api/v1/patrols: 大联勤 joint patrols
    app.include_router(docs_router.router)  # GET /docs: Swagger UI from /static, offline
    install_openapi(app)  # /openapi.json: every error and body as really sent
    return app


def check_budget(pool: ConnectionPool[Any], settings: Settings) -> None:
    """Log the connection budget; refuse to start when it exceeds the server's max_connections."""
    with pool.connection() as conn:
        budget = measure(conn, settings)
    if budget.fits:
        log.info(budget.explain())
        return
    message = (
        f"{budget.explain()}. Lower GRIDGOV_POOL_MAX or GRIDGOV_WORKERS, or raise max_connections "
        "(docs/decisions.md, 'Connection budget'); GRIDGOV_DB_BUDGET_CHECK=false starts anyway."
    )
    if settings.budget.db_budget_check:
        raise RuntimeError(message)
    log.warning(message)


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and `gridgov serve`: settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return freeze_startup(create_app(Settings()))


def freeze_startup(app: FastAPI) -> FastAPI:
    """The server process's objects so far (modules, routes, settings: ≈ 200,000) moved out of
    the garbage collector's generations, for good: a full collection, which a 10,000-row table
    allocates enough to start, no longer walks them (the negative list at 1,000,000 cases:
    slowest of 12 calls 356 → 275 ms, docs/performance.md). Collected first, so that no garbage
    is kept. Servers only: a test process builds many apps and must be able to free them."""
    gc.collect()
    gc.freeze()
    return app
