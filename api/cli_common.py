"""Shared helpers of the CLI: settings, a database connection, and errors said plainly."""

from __future__ import annotations

import gettext
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import psycopg
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from api.db.session import connect
from api.error_messages import localise
from api.errors import DomainError, query_timeout_message
from api.settings import Settings
from gis.errors import SpatialError
from web_map.i18n import DEFAULT_LOCALE, LOCALES, N_, Translator, choose_locale

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def progress_bar(*, spinner: bool = True) -> Progress:
    """The CLI's progress display: (a spinner,) what is done, a bar, n of m, the time taken."""
    columns: list[ProgressColumn] = [SpinnerColumn()] if spinner else []
    columns += [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=console)


# The terminal's own language, in gettext's order (LANGUAGE may list several: "zh_CN:en").
TERMINAL_LANGUAGE = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def cli_translator() -> Translator:
    """The terminal's language: GRIDGOV_CLI_LOCALE, else GRIDGOV_LOCALE, when set; else the
    terminal's locale when it names Chinese or English (LANGUAGE, LC_ALL, LC_MESSAGES, LANG:
    zh_CN.UTF-8 → zh_CN, en_US → en); else zh_CN. C and POSIX name no language: the product's
    default, Chinese, applies."""
    explicit = os.environ.get("GRIDGOV_CLI_LOCALE") or os.environ.get("GRIDGOV_LOCALE")
    if explicit:
        return Translator(explicit if explicit in LOCALES else DEFAULT_LOCALE)
    for name in TERMINAL_LANGUAGE:
        for tag in os.environ.get(name, "").split(":"):
            language = tag.split(".")[0].split("@")[0]
            if language.startswith(("zh", "en")):
                return Translator(choose_locale(asked=None, cookie=None, accept_language=language))
    return Translator(DEFAULT_LOCALE)


# typer's own words (the help's panel titles, [required], its error panel) are marked for the
# standard library's gettext; `speak_the_terminals_language` hands them to the catalogue. The
# click typer carries inside (typer._click) writes plain English: api/cli_toolkit.py says those.
TOOLKIT_WORDS = (
    N_("Arguments"),
    N_("Options"),
    N_("Commands"),
    N_("Error"),
    N_("Aborted."),
    N_("Aborted!"),
    N_("[default: {}]"),
    N_("[env var: {}]"),
    N_("[required]"),
    N_("(deprecated) "),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    N_("Missing command."),
    N_("No such command {name!r}."),
)
# typer.rich_utils reads these at import; they are re-read from their English originals
TYPER_CONSTANTS = (
    "DEPRECATED_STRING",
    "DEFAULT_STRING",
    "ENVVAR_STRING",
    "REQUIRED_LONG_STRING",
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "ABORTED_TEXT",
    "RICH_HELP",
)


def speak_the_terminals_language() -> None:
    """typer's words in the CLI's language: its modules call the standard library's
    `gettext.gettext` (bound at their import as `_`), which knows no catalogue of ours and takes
    its language from the environment; each such `_` becomes our translator's. Idempotent."""
    import typer.rich_utils as rich_utils

    say = cli_translator().gettext
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] == "typer":
            if getattr(module, "_", None) in (gettext.gettext, *_PATCHED):
                module._ = say  # type: ignore[attr-defined]
    _PATCHED[:] = [say]
    for constant in TYPER_CONSTANTS:
        english = _TYPER_ENGLISH.setdefault(constant, getattr(rich_utils, constant))
        setattr(rich_utils, constant, say(english))


_PATCHED: list[object] = []
_TYPER_ENGLISH: dict[str, str] = {}


def tr(message: str, **params: object) -> str:
    """`message` (an English catalogue id) in the terminal's language, placeholders filled."""
    return cli_translator().gettext(message, **params)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a message for the person at the terminal and exit non-zero.

    `message` is finished English (a service's error, or `tr(...)` already applied): the API's
    error templates (api/error_messages.py) put a service's message into the terminal's language.
    """
    text = localise(message, cli_translator())
    label = tr("error:")  # outside the f-string: the extractor reads calls, not f-string parts
    err.print(f"[bold red]{escape(label)}[/] {escape(text)}", highlight=False)
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
            tr(
                "Cannot reach the database ({error}). Start the local one with `gridgov db up`, "
                "or set GRIDGOV_DATABASE_URL.",
                error=exc.__class__.__name__,
            )
        )
    try:
        with conn:
            yield conn
    except (DomainError, SpatialError) as exc:
        fail(exc.message)
    except psycopg.errors.QueryCanceled:
        timeout = query_timeout_message(s.db.long_statement_timeout_ms, cli_translator())
        fail(
            timeout
            + tr(" (The command line's limit is GRIDGOV_LONG_STATEMENT_TIMEOUT_MS; 0 means none.)")
        )
    except FileNotFoundError as exc:
        fail(str(exc))
    except psycopg.errors.UndefinedTable:
        fail(tr("The database has no GridGov schema yet: run `gridgov migrate` first."))
