"""`gridgov demo` and `gridgov import areas|buildings|config`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli_common import console, database, settings
from api.services.config_import import import_config
from api.services.imports import ImportReport, import_areas, import_buildings

import_app = typer.Typer(no_args_is_help=True, help="Import areas, buildings or configuration.")

FileArg = Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile … (via GDAL)")]
CrsOpt = Annotated[str | None, typer.Option(help="CRS of the file when it does not say, EPSG:n")]


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    )


def _summary(what: str, r: ImportReport) -> None:
    console.print(
        f"{what}: {r.created} new, {r.updated} updated, {r.unchanged} unchanged"
        + (f", {r.generated_codes} codes generated" if r.generated_codes else ""),
        highlight=False,
    )
    for fix in r.repaired:
        console.print(f"  repaired feature {fix.ident}: {fix.reason}", highlight=False)


@import_app.command("areas")
def import_areas_cmd(
    file: FileArg,
    level: Annotated[str, typer.Option(help="district, street, community or grid")],
    code_field: Annotated[str, typer.Option(help="field holding the area code")] = "code",
    name_field: Annotated[str, typer.Option(help="field holding the name")] = "name",
    parent_code: Annotated[str | None, typer.Option(help="parent of every feature")] = None,
    crs: CrsOpt = None,
) -> None:
    """Import one level of areas (all or nothing; re-import updates, never duplicates)."""
    config = settings()
    with database(config) as conn, _bar() as bar:
        task = bar.add_task(f"areas ({level})", total=None)
        report = import_areas(
            conn,
            file,
            level=level,
            code_field=code_field,
            name_field=name_field,
            parent_code=parent_code,
            crs=crs,
            progress=lambda n: bar.advance(task, n),
            settings=config,
        )
    _summary(f"{level} areas", report)
    if report.reassigned:
        console.print(f"open incidents re-assigned: {len(report.reassigned)}", highlight=False)


@import_app.command("buildings")
def import_buildings_cmd(
    file: FileArg,
    id_field: Annotated[str, typer.Option(help="field holding a stable id")] = "osm_id",
    name_field: Annotated[str, typer.Option(help="field holding the name")] = "name",
    source: Annotated[str | None, typer.Option(help="source label (default: file name)")] = None,
    address_field: Annotated[str | None, typer.Option(help="field holding the address")] = None,
    households_field: Annotated[str | None, typer.Option(help="field: household count")] = None,
    crs: CrsOpt = None,
) -> None:
    """Import building footprints (upsert by source + id) and assign them to grids."""
    with database(settings()) as conn, _bar() as bar:
        task = bar.add_task("buildings", total=None)
        report = import_buildings(
            conn,
            file,
            id_field=id_field,
            name_field=name_field,
            source=source,
            address_field=address_field,
            households_field=households_field,
            crs=crs,
            progress=lambda n: bar.advance(task, n),
        )
    _summary("buildings", report)


@import_app.command("config")
def import_config_cmd(file: Annotated[Path, typer.Argument(help="YAML file")]) -> None:
    """Import departments, categories and routing rules (upsert)."""
    with database(settings()) as conn:
        r = import_config(conn, file)
    console.print(
        f"config: {r.departments} departments, {r.categories} categories, "
        f"{r.routing_rules} routing rules",
        highlight=False,
    )


def demo() -> None:
    """Load the Haidian demo (OSM-derived areas, buildings, categories, demo incidents)."""
    from api.services.demo import load_demo

    s = settings()
    with database(s) as conn, console.status("loading demo data…"):
        out = load_demo(conn, s)
    for level, r in out.areas.items():
        _summary(f"{level} areas", r)
    if out.buildings:
        _summary("buildings", out.buildings)
    console.print(
        f"demo incidents: {out.incidents_created} new, {out.incidents_existing} already there",
        highlight=False,
    )
    if out.basemap:
        rows = sum(out.basemap.counts.values())
        console.print(f"base map (底图): {rows} features from OpenStreetMap", highlight=False)
    if out.new_users:
        console.print("demo users for the pages (/login); passwords are shown only now:")
        for name, role, password in out.new_users:
            console.print(f"  {name:<16} {role:<11} {password}", highlight=False)


def register(app: typer.Typer) -> None:
    """Attach the data commands."""
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)
