"""`gridgov photos check`: the photo store against the database (orphans, missing files)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from api.cli_common import console, database, settings, tr
from api.cli_toolkit import CliApp
from api.services.photos.incident_photos import store_for

photos_app = CliApp(no_args_is_help=True, help=tr("The case file's photo store."))
BATCH = 1000


@photos_app.command(
    "check",
    help=tr(
        "Files without a photo_files row (left by a crash between write and commit), "
        "and rows whose files are missing (restore them from the backup)."
    ),
)
def photos_check(
    delete: Annotated[
        bool, typer.Option("--delete", help=tr("remove orphan files (no row references them)"))
    ] = False,
    min_age_minutes: Annotated[
        int,
        typer.Option(help=tr("only files older than this count as orphans (uploads in flight)")),
    ] = 60,
) -> None:
    """Files without a photo_files row (left by a crash between write and commit), and rows
    whose files are missing (restore them from the backup)."""
    s = settings()
    store = store_for(s)
    keys = store.keys()
    cutoff = time.time() - min_age_minutes * 60
    with database(s) as conn:
        known: set[str] = set()
        for i in range(0, len(keys), BATCH):
            rows = conn.execute(
                "SELECT sha256 FROM photo_files WHERE sha256 = ANY(%s)", (keys[i : i + BATCH],)
            ).fetchall()
            known |= {r["sha256"] for r in rows}
        missing = [
            r["sha256"]
            for r in conn.execute("SELECT sha256 FROM photo_files ORDER BY sha256").fetchall()
            if not (store.exists(r["sha256"], "photo") and store.exists(r["sha256"], "thumb"))
        ]
    orphans = [
        k
        for k in keys
        if k not in known
        and store.path(k, "photo").exists()
        and store.path(k, "photo").stat().st_mtime < cutoff
    ]
    console.print(
        tr(
            "photo store {root}: {keys} keys, {orphans} orphans, {missing} rows with missing files",
            root=store.root,
            keys=len(keys),
            orphans=len(orphans),
            missing=len(missing),
        ),
        highlight=False,
    )
    for key in missing:
        console.print(tr("missing: {key}", key=key), highlight=False)
    for key in orphans:
        console.print(tr("orphan: {key}", key=key), highlight=False)
        if delete:
            for variant in ("photo", "thumb"):
                store.delete(key, variant)
    if delete and orphans:
        console.print(tr("removed {n} orphans", n=len(orphans)), highlight=False)


def register(app: typer.Typer) -> None:
    """Add `gridgov photos …` to the CLI."""
    app.add_typer(photos_app, name="photos")
