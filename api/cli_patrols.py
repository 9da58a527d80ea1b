"""`gridgov patrols prune`: fixes older than GRIDGOV_TRACK_RETENTION_DAYS become daily figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from api.cli_common import console, database, settings, tr
from api.cli_toolkit import CliApp
from api.services.patrols.coverage import fold_all, prune_tracks, refold_all

patrols_app = CliApp(no_args_is_help=True, help=tr("Joint patrols: tracks and retention."))


@patrols_app.command(
    "prune",
    help=tr(
        "Reduce the fixes of whole local days older than the retention to per-grid daily "
        "coverage figures (distance, time, patrols, covered share), then delete the fixes "
        "(positions)."
    ),
)
def patrols_prune(
    days: Annotated[
        int | None,
        typer.Option(min=1, help=tr("keep this many days (default GRIDGOV_TRACK_RETENTION_DAYS)")),
    ] = None,
) -> None:
    """Reduce the fixes of whole local days older than the retention to per-grid daily coverage
    figures (distance, time, patrols, covered share), then delete the fixes (positions)."""
    s = settings()
    if days is not None:
        s.patrols.track_retention_days = days
    with database(s) as conn:
        out = prune_tracks(conn, s, dt.datetime.now(dt.UTC))
    said = tr(
        "fixes before {cutoff}: {fixes} deleted, {days} days kept as daily coverage figures",
        cutoff=out["cutoff"].isoformat(),
        fixes=out["fixes"],
        days=out["days"],
    )
    console.print(said, highlight=False)


@patrols_app.command(
    "fold",
    help=tr(
        "Fold the fixes received since the last fold into the coverage figures (each app "
        "process does it every GRIDGOV_PATROL_FOLD_S; this is for GRIDGOV_PATROL_FOLD_S=0 "
        "and after importing streets with --all)."
    ),
)
def patrols_fold(
    everything: Annotated[
        bool,
        typer.Option(
            "--all", help=tr("fold every stored fix again (after importing base map streets)")
        ),
    ] = False,
) -> None:
    """Fold the marked pieces of tracks into parts and grid-days."""
    s = settings()
    with database(s) as conn:
        out = refold_all(conn, s) if everything else fold_all(conn, s)
    said = tr(
        "{pieces} pieces of tracks folded: {parts} parts, {grid_days} grid-days",
        pieces=out["pieces"],
        parts=out["parts"],
        grid_days=out["grid_days"],
    )
    console.print(said, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `gridgov patrols …` to the CLI."""
    app.add_typer(patrols_app, name="patrols")
