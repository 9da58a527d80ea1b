"""`gridgov basemap import|export`: the offline base map from OpenStreetMap files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import console, database, fail, progress_bar, settings, tr
from api.cli_toolkit import CliApp
from api.errors import DomainError
from api.services.basemap.osm_import import BasemapImportError, BBox, import_basemap
from gis.osm_basemap import OsmReadError
from web_map.i18n import N_

basemap_app = CliApp(no_args_is_help=True, help=tr("The offline base map (OpenStreetMap)."))

# What the person at the terminal reads: catalogue ids, shown with tr() (docs/i18n.md).
TEXT = {
    "read": N_("Reading OSM"),
    "tables": N_("Replacing the base map"),
    "done": N_("Base map replaced: {rows} rows from {objects} OSM objects"),
    "skipped": N_("({n} geometries that could not be built were skipped)"),
    "export": N_("Exporting the base map"),
    "exported": N_("{n} tiles written to {out}"),
    "no_basemap": N_("No base map imported yet: run `gridgov basemap import` first."),
    "bad_bbox": N_("--bbox must be west,south,east,north, e.g. 116.30,39.98,116.36,40.02"),
}

BoxOption = Annotated[
    str | None,
    typer.Option(
        "--bbox", help=tr("west,south,east,north in degrees (EPSG:4326): only what meets it")
    ),
]


def parse_bbox(text: str | None) -> BBox | None:
    """'w,s,e,n' as four floats, or None."""
    if text is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        fail(tr(TEXT["bad_bbox"]))
    return (x0, y0, x1, y1)


@basemap_app.command(
    "import", help=tr("Replace the base map with OSM files (one transaction: all or nothing).")
)
def basemap_import(
    files: Annotated[
        list[Path], typer.Argument(help=tr(".osm / .osm.pbf files (several are merged)"))
    ],
    bbox: BoxOption = None,
) -> None:
    """Replace the base map with OSM files (one transaction: all or nothing)."""
    box = parse_bbox(bbox)
    s = settings()
    try:
        with database(s) as conn, progress_bar() as progress:
            reading = progress.add_task(tr(TEXT["read"]), total=None)
            tables = progress.add_task(tr(TEXT["tables"]), total=8, start=False)

            def on_table(_table: str, _rows: int) -> None:
                progress.start_task(tables)
                progress.advance(tables)

            result = import_basemap(
                conn,
                files,
                box,
                on_read=lambda n: progress.advance(reading, n),
                on_table=on_table,
            )
            progress.update(reading, total=result.objects, completed=result.objects)
    except (BasemapImportError, OsmReadError) as exc:
        fail(str(exc))
    rows = sum(result.counts.values())
    console.print(tr(TEXT["done"], rows=rows, objects=result.objects), highlight=False)
    for table, n in result.counts.items():
        console.print(f"  {table:<18} {n}", highlight=False)
    if result.broken:
        console.print(tr(TEXT["skipped"], n=result.broken), highlight=False)


@basemap_app.command(
    "export", help=tr("Write the base map of a box (default: all of it) and zoom range as MBTiles.")
)
def basemap_export(
    out: Annotated[Path, typer.Argument(help=tr("output file, .mbtiles (PNG tiles)"))],
    bbox: BoxOption = None,
    min_zoom: Annotated[int, typer.Option("--min-zoom", help=tr("lowest zoom"))] = 12,
    max_zoom: Annotated[int, typer.Option("--max-zoom", help=tr("highest zoom"))] = 16,
    overwrite: Annotated[bool, typer.Option(help=tr("replace OUT if it exists"))] = False,
) -> None:
    """Write the base map of a box (default: all of it) and zoom range as MBTiles."""
    from api.db.session import database_url
    from api.services.basemap.export import check_export, export_basemap
    from api.services.basemap.osm_import import latest_import
    from api.services.basemap.render import BasemapRenderer

    s = settings()
    box = parse_bbox(bbox)
    if box is None:
        with database(s) as conn:
            last = latest_import(conn)
        if last is None or not last.get("bounds"):
            fail(tr(TEXT["no_basemap"]))
        x0, y0, x1, y1 = (float(v) for v in last["bounds"])
        box = (x0, y0, x1, y1)
    renderer = BasemapRenderer(s.basemap, database_url(s.db))
    try:
        total = check_export(out, box, min_zoom, max_zoom, overwrite)
        with progress_bar(spinner=False) as progress:
            task = progress.add_task(tr(TEXT["export"]), total=total)
            written = export_basemap(
                renderer,
                out,
                box,
                min_zoom,
                max_zoom,
                overwrite=overwrite,
                tick=lambda n: progress.advance(task, n),
            )
    except (BasemapImportError, DomainError) as exc:
        fail(exc.message)
    finally:
        renderer.close()
    console.print(tr(TEXT["exported"], n=written, out=out), highlight=False)


def register(app: typer.Typer) -> None:
    """Attach `gridgov basemap`."""
    app.add_typer(basemap_app, name="basemap")
