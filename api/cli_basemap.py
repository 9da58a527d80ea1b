"""`gridgov basemap import|export`: the offline base map from OpenStreetMap files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from api.cli_common import console, database, fail, settings
from api.services.basemap_import import BasemapImportError, BBox, import_basemap
from gis.osm_basemap import OsmReadError

basemap_app = typer.Typer(no_args_is_help=True, help="底图 The offline base map (OpenStreetMap).")

# What the person at the terminal reads (Chinese first; to move into the gettext catalogue).
TEXT = {
    "read": "读取 OSM 文件 Reading OSM",
    "tables": "替换底图 Replacing the base map",
    "done": "底图已替换 Base map replaced: {rows} rows from {objects} OSM objects",
    "skipped": "（{n} 个几何无法构建，已跳过 geometries that could not be built were skipped）",
    "bad_bbox": "--bbox 应为 西,南,东,北 must be west,south,east,north, "
    "e.g. 116.30,39.98,116.36,40.02",
}

BBoxOption = Annotated[
    str | None,
    typer.Option("--bbox", help="west,south,east,north in degrees (EPSG:4326): only what meets it"),
]


def parse_bbox(text: str | None) -> BBox | None:
    """'w,s,e,n' as four floats, or None."""
    if text is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        fail(TEXT["bad_bbox"])
    return (x0, y0, x1, y1)


@basemap_app.command("import")
def basemap_import(
    files: Annotated[list[Path], typer.Argument(help=".osm / .osm.pbf files (several are merged)")],
    bbox: BBoxOption = None,
) -> None:
    """Replace the base map with OSM files (one transaction: all or nothing)."""
    box = parse_bbox(bbox)
    s = settings()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with database(s) as conn, Progress(*columns, console=console) as progress:
            reading = progress.add_task(TEXT["read"], total=None)
            tables = progress.add_task(TEXT["tables"], total=8, start=False)

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
    console.print(TEXT["done"].format(rows=rows, objects=result.objects), highlight=False)
    for table, n in result.counts.items():
        console.print(f"  {table:<18} {n}", highlight=False)
    if result.broken:
        console.print(TEXT["skipped"].format(n=result.broken), highlight=False)


def register(app: typer.Typer) -> None:
    """Attach `gridgov basemap`."""
    app.add_typer(basemap_app, name="basemap")
