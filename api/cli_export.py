"""`gridgov export areas|buildings|incidents OUT`: files for GIS tools and for re-import."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from api.cli_common import console, database, fail, progress_bar, settings, tr
from api.errors import DomainError
from api.services.interop.exports import (
    ExportRequest,
    check_export,
    export_layer,
    field_renames,
    output_path,
)
from gis.crs_files import CHINESE
from gis.errors import SpatialError
from gis.export import FORMATS
from web_map.i18n import N_

# What the person at the terminal reads: catalogue ids, shown with tr() (docs/i18n.md).
TEXT = {
    "chinese": N_(
        "Note: the file's coordinates are {crs}, and the file does not say so ({crs} has no "
        "EPSG definition); add --crs {crs} when importing it again"
    ),
    "reading": N_("reading {layer}"),
    "wrote": N_("wrote {name}"),
    "exported": N_("exported {n} {layer} to {path} ({format}, {crs})"),
    "field": N_("field {old} → {new}"),
    "truncated": N_(
        "warning: {n} values of {name} were cut to 254 bytes (the Shapefile limit); "
        "use --format gpkg to keep them whole"
    ),
    "contacts": N_(
        "this file holds reporters' contact data (personal information): "
        "share it only with those entitled to see it"
    ),
    "at": N_("--at must be an ISO 8601 date or time such as 2024-05-01T08:00+08:00, not {text}."),
}


class Layer(StrEnum):
    """What can be exported."""

    areas = "areas"
    buildings = "buildings"
    incidents = "incidents"


class Format(StrEnum):
    """File formats (GDAL drivers GPKG, GeoJSON, ESRI Shapefile, CSV with WKT)."""

    gpkg = "gpkg"
    geojson = "geojson"
    shp = "shp"
    csv = "csv"


def _instant(text: str, timezone: str) -> dt.datetime:
    """An ISO 8601 date or time; without an offset it is local time in `timezone`."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(tr(TEXT["at"], text=repr(text)))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))


def export(
    layer: Annotated[Layer, typer.Argument(help=tr("areas, buildings or incidents"))],
    out: Annotated[Path, typer.Argument(help=tr("output file (.gpkg, .geojson, .shp, .csv)"))],
    fmt: Annotated[
        Format | None, typer.Option("--format", help=tr("file format (default: from OUT's suffix)"))
    ] = None,
    crs: Annotated[
        str, typer.Option(help=tr("coordinate system of the file: EPSG:n, or GCJ02 / BD09"))
    ] = "EPSG:4326",
    level: Annotated[
        str | None, typer.Option(help=tr("areas: only this level (district … grid)"))
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help=tr("areas: the versions valid at this ISO time (default: current)")),
    ] = None,
    with_contacts: Annotated[
        bool, typer.Option(help=tr("incidents: include reporter name, phone and email"))
    ] = False,
    overwrite: Annotated[bool, typer.Option(help=tr("replace OUT if it exists"))] = False,
) -> None:
    """Export a layer as GeoPackage, GeoJSON, Shapefile or CSV (WKT) in any EPSG system."""
    s = settings()
    try:
        path, file_format = output_path(out, fmt.value if fmt else None)
        req = ExportRequest(
            layer=layer.value,
            fmt=file_format,
            crs=crs,
            level=level,
            at=_instant(at, s.calendar.timezone) if at else None,
            with_contacts=with_contacts,
        )
        check_export(req, path, overwrite)  # before the progress bar appears
    except (DomainError, SpatialError) as exc:
        fail(exc.message)
    bar = progress_bar()
    with database(s) as conn, bar:
        task = bar.add_task(tr(TEXT["reading"], layer=layer.value), total=None)
        result = export_layer(
            conn,
            req,
            path,
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        bar.update(task, description=tr(TEXT["wrote"], name=path.name))
    w = result.written
    done = {"n": w.features, "layer": layer.value, "path": w.path, "crs": w.crs}
    console.print(tr(TEXT["exported"], format=FORMATS[file_format][0], **done), highlight=False)
    for old, new in field_renames(result).items():
        console.print("  " + tr(TEXT["field"], old=old, new=new), highlight=False)
    for name, n in w.truncated.items():
        console.print("  " + tr(TEXT["truncated"], n=n, name=name), highlight=False)
    if w.crs in CHINESE:
        console.print("  " + tr(TEXT["chinese"], crs=w.crs), highlight=False)
    if req.with_contacts:
        console.print("  " + tr(TEXT["contacts"]), highlight=False)


def register(app: typer.Typer) -> None:
    """Attach `gridgov export`."""
    app.command(
        "export",
        help=tr(
            "Export a layer as GeoPackage, GeoJSON, Shapefile or CSV (WKT) in any EPSG system."
        ),
    )(export)
