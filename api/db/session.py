"""Database URL resolution and the connection pool used by the app and the CLI."""

from __future__ import annotations

import json
import re
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from psycopg import Connection
from psycopg import _queries as psycopg_queries
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool

from api.db.embedded import EmbeddedCluster
from api.settings import DatabaseSettings


def embedded_cluster(settings: DatabaseSettings) -> EmbeddedCluster:
    """The project-local cluster described by the settings."""
    return EmbeddedCluster(home=settings.data_dir, port=settings.db_port, dbname=settings.db_name)


def database_url(settings: DatabaseSettings) -> str:
    """GRIDGOV_DATABASE_URL when set, else the embedded cluster's URL (libpq form)."""
    if settings.database_url:
        return libpq_url(settings.database_url)
    return embedded_cluster(settings).url()


def libpq_url(url: str) -> str:
    """A URL as libpq takes it (SQLAlchemy's driver prefix removed)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy/Alembic, which need the driver named."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# psycopg re-parses a query's %(name)s placeholders (a regex over the whole text) on every
# execute unless the text is at most MAX_CACHED_STATEMENT_LENGTH (4096) bytes, when the parse is
# cached. The assignment and intake statements are fixed and 5–6.5 KB: ≈ 60 µs per report
# (docs/performance.md, 2026-11-26). The cap guards against caching ORM-made one-off queries;
# this app's SQL is a fixed set, so it is raised. (A module constant of psycopg 3.1–3.3; if it
# moves, this does nothing and only the speed is lost.)
if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_LENGTH", 16_384) < 16_384:
    psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = 16_384

# A run of 19+ digits may be an integer beyond 64 bits, which orjson turns into a float and the
# json module keeps exact; such documents (and anything orjson refuses) take the json module.
_LONG_DIGITS = re.compile(rb"\d{19}")


def _json_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """json/jsonb columns: orjson (≈ 5× faster), with json.loads' results."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if _LONG_DIGITS.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def configure_connection(conn: Connection[Any]) -> None:
    """Per new pool connection: parse json/jsonb results with orjson."""
    set_json_loads(_json_loads, conn)


def check_connection(conn: Connection[Any]) -> None:
    """The pool's check on checkout: a round trip only if the server has said something.

    An idle connection's socket has nothing to read. When the server goes away (restart,
    pg_terminate_backend, crash) it sends an error and/or closes the socket, which then polls
    readable: only then is `ConnectionPool.check_connection`'s round trip (≈ 50 µs per request)
    paid, and it raises for a broken connection, which the pool replaces.
    """
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN)
        quiet = not poller.poll(0)
    except Exception:  # closed connection, no socket: let the full check decide
        quiet = False
    if not quiet or conn.closed:
        ConnectionPool.check_connection(conn)


def _options(statement_timeout_ms: int, idle_in_transaction_ms: int = 0) -> str:
    """Server settings every connection starts with (libpq `options`)."""
    # Generic plans and no JIT: see open_pool. The statement timeout bounds what one request (or
    # CLI run) can take from the database; the idle-in-transaction timeout, how long it may hold
    # a transaction open between statements (its locks, its snapshot that stops VACUUM, and on
    # a replica its replay); 0 = no limit (PostgreSQL's own meaning).
    return (
        "-c plan_cache_mode=force_generic_plan -c jit=off "
        f"-c statement_timeout={int(statement_timeout_ms)} "
        f"-c idle_in_transaction_session_timeout={int(idle_in_transaction_ms)}"
    )


# What an export or a turn of background work may take longer over than a request: each of its
# statements, and each pause between two with its transaction open (`use_long_timeouts`)
LONG_TIMEOUTS = ("statement_timeout", "idle_in_transaction_session_timeout")


def use_long_timeouts(conn: Connection[Any], timeout_ms: int, *, local: bool) -> None:
    """LONG_TIMEOUTS at `timeout_ms` on `conn`: for its transaction (`local`), else for its
    session until `reset_timeouts`."""
    conn.execute(
        "SELECT " + ", ".join(f"set_config('{name}', %(t)s, %(local)s)" for name in LONG_TIMEOUTS),
        {"t": str(timeout_ms), "local": local},
    )


def reset_timeouts(conn: Connection[Any]) -> None:
    """LONG_TIMEOUTS back to the connection's own (its start-up options, `_options`)."""
    conn.execute("; ".join(f"RESET {name}" for name in LONG_TIMEOUTS))


def open_pool(
    settings: DatabaseSettings,
    url: str | None = None,
    name: str = "gridgov",
    wait: bool = True,
    reconnect_timeout: float = 300.0,
) -> ConnectionPool[Connection[dict]]:
    """A psycopg pool returning dict rows (on `url`, default the primary's).

    `wait`: open and wait for the first connections (the primary); without it the pool fills in
    the background (a replica that may be down when the app starts).
    """
    pool: ConnectionPool[Connection[dict]] = ConnectionPool(
        url or database_url(settings),
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        # a short wait, then PoolTimeout → 503 with Retry-After (not a request hanging for 30 s)
        timeout=settings.pool_timeout,
        # connections broken by a database restart are found and replaced before use
        check=check_connection,
        configure=configure_connection,
        kwargs={
            "row_factory": dict_row,
            "application_name": name,
            # Only statements marked prepare=True are prepared (the hot, fixed-shape ones; a huge
            # threshold, since None would disable prepare=True too), and they use one generic
            # plan: the assignment SQL otherwise re-plans for ~1 ms per call, for a plan that
            # never changes (docs/performance.md).
            "prepare_threshold": 1_000_000,
            # JIT off: request queries are short, and a high cost estimate (ST_ClusterDBSCAN in
            # the hotspot query) made PostgreSQL spend 1.0 s of a 1.2 s query compiling it.
            # statement_timeout: a runaway query ends as 503 query_timeout (api/errors.py);
            # idle_in_transaction_session_timeout: a request stuck between statements with a
            # transaction open ends with its session (a 500, logged), the pool replaces it.
            "options": _options(settings.statement_timeout_ms, settings.idle_in_transaction_ms),
        },
        reconnect_timeout=reconnect_timeout,
        open=False,
    )
    pool.open(wait=wait, timeout=15)
    return pool


def connect(settings: DatabaseSettings) -> Connection[dict]:
    """One connection for CLI work (dict rows), with the long statement timeout."""
    return Connection.connect(
        database_url(settings),
        row_factory=dict_row,
        application_name="gridgov-cli",
        options=f"-c statement_timeout={int(settings.long_statement_timeout_ms)}",
    )


@contextmanager
def local_settings(conn: Connection[Any], **values: str | None) -> Iterator[None]:
    """Server settings `values` for the block (None: none now, but put back too, for one a
    caller may set within it with set_config(…, true)), as they were again when it ends.

    Within a transaction block: set_config(…, true) lasts to the end of the *outermost*
    transaction, so a setting meant for one statement of a request would outlive it — the
    evaluation's `enable_nestloop = off` made each of a trend's 62 small queries after it plan a
    hash join over every incident (≈ 15 ms each, a second per trend). Not put back when the
    transaction failed: its rollback does."""
    names = list(values)
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        old = list(cur.fetchone() or ())
    _set(conn, {n: v for n, v in values.items() if v is not None})
    try:
        yield
    finally:
        if conn.info.transaction_status == TransactionStatus.INTRANS:
            _set(conn, dict(zip(names, old, strict=True)))


def _set(conn: Connection[Any], values: dict[str, str]) -> None:
    """set_config(name, value, true) of each of `values`, in one statement."""
    if values:
        calls = ", ".join(["set_config(%s, %s, true)"] * len(values))
        conn.execute(f"SELECT {calls}", [x for item in values.items() for x in item])
