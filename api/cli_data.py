"""`gridgov demo` and `gridgov import …`: placeholder filled below."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the data commands."""
