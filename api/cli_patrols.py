"""`gridgov patrols prune`: fixes older than GRIDGOV_TRACK_RETENTION_DAYS become daily figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from api.cli_common import console, database, settings
from api.services.patrols.coverage import prune_tracks

patrols_app = typer.Typer(no_args_is_help=True, help="大联勤 joint patrols: tracks and retention.")


@patrols_app.command("prune")
def patrols_prune(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="keep this many days (default GRIDGOV_TRACK_RETENTION_DAYS)"),
    ] = None,
) -> None:
    """Reduce the fixes of whole local days older than the retention to per-grid daily coverage
    figures (distance, time, patrols, covered share), then delete the fixes (positions)."""
    s = settings()
    if days is not None:
        s.patrols.track_retention_days = days
    with database(s) as conn:
        out = prune_tracks(conn, s, dt.datetime.now(dt.UTC))
    console.print(
        f"fixes before {out['cutoff'].isoformat()}: {out['fixes']} deleted, "
        f"{out['days']} days kept as daily coverage figures",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `gridgov patrols …` to the CLI."""
    app.add_typer(patrols_app, name="patrols")
