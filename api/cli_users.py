"""`gridgov user …` and `gridgov token …`: placeholder filled below."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the user and token commands."""
