"""`GET /metrics` in Prometheus' text format: requests, latencies, the pool, the tile cache.

One registry per app (tests build many apps in one process). Requests are labelled by the
route's path template (`/api/v1/incidents/{incident_id}`), never the raw path, so the number of
series stays bounded whatever clients send. The endpoint needs an admin's token (Prometheus sends
it with `authorization: {credentials_file: …}`): figures about load are not for the public.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, FastAPI, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import CurrentUser
from api.errors import Forbidden

# Seconds: intake answers in a few ms, evaluation and exports take seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

router = APIRouter(tags=["health"])


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "gridgov_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "gridgov_http_request_duration_seconds",
            "Time from request to the start of the response",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = _route(scope)
                self.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            self.requests.labels(scope["method"], _route(scope), str(status)).inc()


def _route(scope: Scope) -> str:
    """The matched route's template; unmatched paths share one label."""
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"


class StateCollector(Collector):
    """Pool and tile-cache figures read at scrape time from the running app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        pool = getattr(self.app.state, "pool", None)
        if pool is not None:
            stats: dict[str, int] = pool.get_stats()
            for key, help_text in POOL_GAUGES.items():
                yield _gauge(f"gridgov_db_pool_{key}", help_text, stats.get(key, 0))
            for key, help_text in POOL_COUNTERS.items():
                c = CounterMetricFamily(f"gridgov_db_pool_{key}", help_text)
                c.add_metric([], stats.get(key, 0))
                yield c
        cache = self.app.state.tile_cache
        for name, value, help_text in (
            ("hits", cache.hits, "Tile requests served from the cache"),
            ("misses", cache.misses, "Tile requests rendered in PostGIS"),
        ):
            c = CounterMetricFamily(f"gridgov_tile_cache_{name}", help_text)
            c.add_metric([], value)
            yield c
        yield _gauge("gridgov_tile_cache_entries", "Tiles held in memory", len(cache))
        for name, help_text, read in self.app.state.metric_gauges:
            yield _gauge(name, help_text, read())


POOL_GAUGES = {
    "pool_size": "Connections the pool holds",
    "pool_available": "Idle connections",
    "requests_waiting": "Requests waiting for a connection",
}
POOL_COUNTERS = {
    "requests_num": "Connections handed out",
    "requests_errors": "Requests that got no connection (timeout or error)",
}


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, help_text)
    g.add_metric([], value)
    return g


def add_gauge(app: FastAPI, name: str, help_text: str, read: Callable[[], float]) -> None:
    """Let another part of the app publish a figure read at scrape time (e.g. a queue length)."""
    app.state.metric_gauges.append((name, help_text, read))


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, user: CurrentUser) -> Response:
    """Prometheus exposition of this process's figures (admins only)."""
    if user.role != "admin":
        raise Forbidden("Only administrators may read the metrics.", {"role": user.role})
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """A registry for this app, the request middleware, the state collector and `/metrics`."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    gauges: list[tuple[str, str, Callable[[], float]]] = []
    app.state.metric_gauges = gauges
    registry.register(StateCollector(app))
    app.add_middleware(RequestMetrics, registry=registry)
    app.include_router(router)
