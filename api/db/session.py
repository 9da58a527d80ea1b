"""Database URL resolution and the connection pool used by the app and the CLI."""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from api.db.embedded import EmbeddedCluster
from api.settings import DatabaseSettings


def embedded_cluster(settings: DatabaseSettings) -> EmbeddedCluster:
    """The project-local cluster described by the settings."""
    return EmbeddedCluster(home=settings.data_dir, port=settings.db_port, dbname=settings.db_name)


def database_url(settings: DatabaseSettings) -> str:
    """GRIDGOV_DATABASE_URL when set, else the embedded cluster's URL (libpq form)."""
    if settings.database_url:
        return settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    return embedded_cluster(settings).url()


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy/Alembic, which need the driver named."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_pool(settings: DatabaseSettings) -> ConnectionPool[Connection[dict]]:
    """A psycopg pool returning dict rows; opened and waited for before use."""
    pool: ConnectionPool[Connection[dict]] = ConnectionPool(
        database_url(settings),
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        # a short wait, then PoolTimeout → 503 with Retry-After (not a request hanging for 30 s)
        timeout=settings.pool_timeout,
        # connections broken by a database restart are found and replaced before use
        check=ConnectionPool.check_connection,
        kwargs={
            "row_factory": dict_row,
            "application_name": "gridgov",
            # Only statements marked prepare=True are prepared (the hot, fixed-shape ones; a huge
            # threshold, since None would disable prepare=True too), and they use one generic
            # plan: the assignment SQL otherwise re-plans for ~1 ms per call, for a plan that
            # never changes (docs/performance.md).
            "prepare_threshold": 1_000_000,
            # JIT off: request queries are short, and a high cost estimate (ST_ClusterDBSCAN in
            # the hotspot query) made PostgreSQL spend 1.0 s of a 1.2 s query compiling it.
            "options": "-c plan_cache_mode=force_generic_plan -c jit=off",
        },
        open=False,
    )
    pool.open(wait=True, timeout=15)
    return pool


def connect(settings: DatabaseSettings) -> Connection[dict]:
    """One connection for CLI work (dict rows)."""
    return Connection.connect(database_url(settings), row_factory=dict_row)
