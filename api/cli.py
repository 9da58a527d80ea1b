"""The `gridgov` command line: database, migrations, demo, server, imports, users and tokens."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from api.cli_common import console, fail, settings, speak_the_terminals_language, tr
from api.cli_toolkit import CliApp
from api.db.embedded import EmbeddedDatabaseError
from api.db.session import database_url, embedded_cluster

speak_the_terminals_language()
app = CliApp(no_args_is_help=True, help=tr("GridGov: spatial service for grid-based governance."))
db_app = CliApp(no_args_is_help=True, help=tr("The project-local PostgreSQL + PostGIS cluster."))
app.add_typer(db_app, name="db")


@db_app.command("up", help=tr("Create (first time) and start the local cluster; idempotent."))
def db_up() -> None:
    """Create (first time) and start the local cluster; idempotent."""
    s = settings()
    if s.db.database_url:
        console.print(
            tr("GRIDGOV_DATABASE_URL is set: using that server, no local cluster started.")
        )
        return
    cluster = embedded_cluster(s.db)
    try:
        was_running = cluster.is_running()
        cluster.up()
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    where = {"data": cluster.data_dir, "port": cluster.port}
    if was_running:
        console.print(tr("PostgreSQL already running: data in {data}, port {port}", **where))
    else:
        console.print(tr("PostgreSQL started: data in {data}, port {port}", **where))


@db_app.command("down", help=tr("Stop the local cluster (data is kept)."))
def db_down() -> None:
    """Stop the local cluster (data is kept)."""
    cluster = embedded_cluster(settings().db)
    try:
        stopped = cluster.down()
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    console.print(tr("stopped") if stopped else tr("not running"))


@db_app.command("status", help=tr("Whether the local cluster runs, and where."))
def db_status() -> None:
    """Whether the local cluster runs, and where."""
    s = settings()
    if s.db.database_url:
        console.print(tr("using GRIDGOV_DATABASE_URL (external server)"))
        return
    cluster = embedded_cluster(s.db)
    try:
        info = cluster.status()
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    info.pop("url")
    console.print(tr("running") if info.pop("running") else tr("not running"), highlight=False)
    for key, value in info.items():
        console.print(f"  {key}: {value}", highlight=False)
    if not info["data_dir"].startswith(str(cluster.home)):  # type: ignore[attr-defined]
        console.print(
            "  "
            + tr(
                "(as root the cluster runs as user 'postgres', which cannot enter {home}; "
                "its data lives at data_dir)",
                home=cluster.home,
            ),
            highlight=False,
        )


@db_app.command("url", help=tr("Print the database URL (libpq form), for psql and scripts."))
def db_url() -> None:
    """Print the database URL (libpq form), for psql and scripts."""
    print(database_url(settings().db))


@app.command(help=tr("Apply schema migrations (Alembic) up to `revision`."))
def migrate(
    revision: Annotated[str, typer.Argument(help=tr("target revision"))] = "heads",
) -> None:
    """Apply schema migrations (Alembic) up to `revision`."""
    from api.db.migrate import upgrade

    try:
        upgrade(database_url(settings().db), revision)
    except Exception as exc:  # alembic/psycopg errors: show the cause, not a traceback
        fail(tr("Migration failed: {error}", error=exc))
    console.print(tr("database at {revision}", revision=revision))


@app.command(help=tr("Run the HTTP service with uvicorn."))
def serve(
    host: Annotated[str, typer.Option(help=tr("interface to bind"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=tr("TCP port"))] = 8000,
    workers: Annotated[int, typer.Option(help=tr("worker processes"))] = 1,
) -> None:
    """Run the HTTP service with uvicorn."""
    import uvicorn

    console.print(tr("GridGov on {url}  (API docs at /docs)", url=f"http://{host}:{port}/"))
    # every worker checks the connection budget with the real worker count (api/db/budget.py)
    os.environ["GRIDGOV_WORKERS"] = str(workers)
    uvicorn.run(
        "api.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # request headers must arrive within GRIDGOV_HEADER_TIMEOUT (api/http_timeouts.py)
        http="api.http_timeouts:HeaderTimeoutH11Protocol",
        log_level="info",
    )


def _register_subcommands() -> None:
    from api import cli_check, cli_data, cli_export, cli_users

    cli_data.register(app)
    cli_users.register(app)
    cli_check.register(app)
    cli_export.register(app)
    __import__("api.cli_stats").cli_stats.register(app)  # gridgov stats
    __import__("api.cli_notify").cli_notify.register(app)  # gridgov notify
    __import__("api.cli_basemap").cli_basemap.register(app)  # gridgov basemap
    __import__("api.cli_photos").cli_photos.register(app)  # gridgov photos check (issue 16)
    __import__("api.cli_patrols").cli_patrols.register(app)  # gridgov patrols prune (issue 22)


_register_subcommands()
