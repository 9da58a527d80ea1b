"""Shared helpers of the CLI: settings, a database connection, and errors said plainly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import psycopg
import typer
from rich.console import Console

from api.db.session import connect
from api.errors import DomainError, query_timeout_message
from api.settings import Settings
from gis.errors import SpatialError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
# zh_CN, with the rest of the CLI's text when the catalogue arrives
CLI_TIMEOUT_HINT = "（命令行上限 GRIDGOV_LONG_STATEMENT_TIMEOUT_MS，0 为不限。）"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a message for the person at the terminal and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def settings() -> Settings:
    """Settings from the environment (read per command, never at import)."""
    return Settings()


@contextmanager
def database(s: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection committed on success; domain and connection errors become plain messages."""
    try:
        conn = connect(s.db)
    except psycopg.OperationalError as exc:
        fail(
            f"cannot reach the database ({exc.__class__.__name__}). Start the local one with "
            "`gridgov db up`, or set GRIDGOV_DATABASE_URL."
        )
    try:
        with conn:
            yield conn
    except (DomainError, SpatialError) as exc:
        fail(exc.message)
    except psycopg.errors.QueryCanceled:
        fail(query_timeout_message(s.db.long_statement_timeout_ms) + CLI_TIMEOUT_HINT)
    except FileNotFoundError as exc:
        fail(str(exc))
    except psycopg.errors.UndefinedTable:
        fail("the database has no GridGov schema yet: run `gridgov migrate` first.")
