"""`gridgov demo` and `gridgov import areas|buildings|config`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli_common import cli_translator, console, database, err, fail, progress_bar, settings, tr
from api.cli_toolkit import CliApp
from api.error_messages import localise
from api.responses import dumps
from api.services.boundaries.imports import ImportReport, import_areas, import_buildings
from api.services.intake.config_import import import_config
from gis.errors import TopologyError
from web_map.i18n import N_

# What the person at the terminal reads: catalogue ids, shown with tr() (docs/i18n.md).
TEXT = {
    "retired_skipped": N_("Retired codes not revived (add --revive if wanted): {codes}"),
    "revived": N_("Retired codes revived: {codes}"),
    "edited_skipped": N_(
        "Areas edited by hand since the last import were not overwritten "
        "(add --overwrite-edited if wanted): {codes}"
    ),
    "edited_overwritten": N_("Hand edits overwritten: {codes}"),
    "accepted": N_(
        "{n} topology problems accepted and recorded (gridgov check coverage lists them)"
    ),
    "problems_title": N_("Topology problems"),
    "problems_written": N_("Problem layer written to {path}"),
    "summary": N_("{what}: {created} new, {updated} updated, {unchanged} unchanged"),
    "generated": N_(", {n} codes generated"),
    "repaired": N_("repaired feature {id}: {reason}"),
    "areas": N_("{level} areas"),
    "buildings": N_("buildings"),
    "reassigned": N_("open incidents re-assigned: {n}"),
    "config": N_(
        "config: {departments} departments, {categories} categories, {rules} routing rules"
    ),
    "loading": N_("loading demo data…"),
    "incidents": N_("demo incidents: {new} new, {old} already there"),
    "history": N_("demo history: {cases} cases, {steps} workflow steps, {whistles} whistles"),
    "basemap": N_("base map: {rows} features from OpenStreetMap"),
    "users": N_("demo users for the pages (/login); passwords are shown only now:"),
}
COLUMNS = (N_("Kind"), N_("Code"), N_("area m²"), N_("Explanation"))

import_app = CliApp(no_args_is_help=True, help=tr("Import areas, buildings or configuration."))

FileArg = Annotated[Path, typer.Argument(help=tr("GeoJSON, GeoPackage, Shapefile … (via GDAL)"))]
CrsOpt = Annotated[
    str | None,
    typer.Option(help=tr("CRS of the file's coordinates: EPSG:n, or GCJ02 / BD09 (Amap, Baidu)")),
]


def _stepper(bar: Progress, what: str):  # type: ignore[no-untyped-def]
    task = bar.add_task(what, total=None)

    def step(stage: str, done: int, total: int | None) -> None:
        bar.update(task, description=f"{what}: {stage}", completed=done, total=total)

    return step


def _print_problems(doc: dict[str, Any], problems_out: Path | None) -> None:
    table = Table(*(tr(c) for c in COLUMNS), title=tr(TEXT["problems_title"]))
    for f in doc["features"]:
        p = f["properties"]
        area = "" if p["area_m2"] is None else f"{p['area_m2']:,.2f}"
        message = localise(p["message"], cli_translator())
        table.add_row(p["kind"], ", ".join(p["codes"]), area, message)
    err.print(table)
    if problems_out is not None:
        problems_out.write_bytes(dumps(doc))
        err.print(tr(TEXT["problems_written"], path=problems_out), highlight=False)


def _summary(what: str, r: ImportReport) -> None:
    counts = {"created": r.created, "updated": r.updated, "unchanged": r.unchanged}
    console.print(
        tr(TEXT["summary"], what=what, **counts)
        + (tr(TEXT["generated"], n=r.generated_codes) if r.generated_codes else ""),
        highlight=False,
    )
    for fix in r.repaired:
        repaired = tr(TEXT["repaired"], id=fix.ident, reason=localise(fix.reason, cli_translator()))
        console.print("  " + repaired, highlight=False)
    for key in ("retired_skipped", "revived", "edited_skipped", "edited_overwritten"):
        codes = getattr(r, key)
        if codes:
            console.print("  " + tr(TEXT[key], codes=", ".join(codes)), highlight=False)


@import_app.command(
    "areas",
    help=tr(
        "Import one level of areas (all or nothing; checked like API saves; history respected)."
    ),
)
def import_areas_cmd(
    file: FileArg,
    level: Annotated[str, typer.Option(help=tr("district, street, community or grid"))],
    code_field: Annotated[str, typer.Option(help=tr("field holding the area code"))] = "code",
    name_field: Annotated[str, typer.Option(help=tr("field holding the name"))] = "name",
    parent_code: Annotated[str | None, typer.Option(help=tr("parent of every feature"))] = None,
    crs: CrsOpt = None,
    revive: Annotated[
        bool, typer.Option(help=tr("bring back codes that were retired (split, merged, retired)"))
    ] = False,
    overwrite_edited: Annotated[
        bool, typer.Option(help=tr("replace areas people changed since the last import"))
    ] = False,
    accept_problems: Annotated[
        bool, typer.Option(help=tr("import despite overlaps / outside-parent pieces; record them"))
    ] = False,
    problems_out: Annotated[
        Path | None, typer.Option(help=tr("write the problems found to this GeoJSON file"))
    ] = None,
) -> None:
    """Import one level of areas (all or nothing; checked like API saves; history respected)."""
    config = settings()
    refused: TopologyError | None = None
    with database(config) as conn, progress_bar() as bar:
        try:
            report = import_areas(
                conn,
                file,
                level=level,
                code_field=code_field,
                name_field=name_field,
                parent_code=parent_code,
                crs=crs,
                progress=_stepper(bar, tr(TEXT["areas"], level=level)),
                settings=config,
                revive=revive,
                overwrite_edited=overwrite_edited,
                accept_problems=accept_problems,
            )
        except TopologyError as exc:  # the import's transaction is rolled back already
            refused = exc
    if refused is not None:
        _print_problems(refused.details["problems"], problems_out)
        fail(refused.message)
    _summary(tr(TEXT["areas"], level=level), report)
    if report.accepted:
        console.print(tr(TEXT["accepted"], n=len(report.accepted)), highlight=False)
        doc: dict[str, Any] = {"type": "FeatureCollection", "features": report.accepted}
        if problems_out is not None:
            _print_problems(doc, problems_out)
    if report.reassigned:
        console.print(tr(TEXT["reassigned"], n=len(report.reassigned)), highlight=False)


@import_app.command(
    "buildings",
    help=tr("Import building footprints (upsert by source + id) and assign them to grids."),
)
def import_buildings_cmd(
    file: FileArg,
    id_field: Annotated[str, typer.Option(help=tr("field holding a stable id"))] = "osm_id",
    name_field: Annotated[str, typer.Option(help=tr("field holding the name"))] = "name",
    source: Annotated[
        str | None, typer.Option(help=tr("source label (default: file name)"))
    ] = None,
    address_field: Annotated[str | None, typer.Option(help=tr("field holding the address"))] = None,
    households_field: Annotated[str | None, typer.Option(help=tr("field: household count"))] = None,
    crs: CrsOpt = None,
) -> None:
    """Import building footprints (upsert by source + id) and assign them to grids."""
    with database(settings()) as conn, progress_bar() as bar:
        report = import_buildings(
            conn,
            file,
            id_field=id_field,
            name_field=name_field,
            source=source,
            address_field=address_field,
            households_field=households_field,
            crs=crs,
            progress=_stepper(bar, tr(TEXT["buildings"])),
        )
    _summary(tr(TEXT["buildings"]), report)


@import_app.command("config", help=tr("Import departments, categories and routing rules (upsert)."))
def import_config_cmd(file: Annotated[Path, typer.Argument(help=tr("YAML file"))]) -> None:
    """Import departments, categories and routing rules (upsert)."""
    with database(settings()) as conn:
        r = import_config(conn, file)
    said = tr(
        TEXT["config"], departments=r.departments, categories=r.categories, rules=r.routing_rules
    )
    console.print(said, highlight=False)


def demo() -> None:
    """Load the Haidian demo (OSM-derived areas, buildings, categories, demo incidents)."""
    from api.services.demo import load_demo

    s = settings()
    with database(s) as conn, console.status(tr(TEXT["loading"])):
        out = load_demo(conn, s)
    for level, r in out.areas.items():
        _summary(tr(TEXT["areas"], level=level), r)
    if out.buildings:
        _summary(tr(TEXT["buildings"]), out.buildings)
    new, old = out.incidents_created, out.incidents_existing
    console.print(tr(TEXT["incidents"], new=new, old=old), highlight=False)
    if out.history:
        h = out.history
        steps = {"cases": h.incidents, "steps": h.actions, "whistles": h.whistles}
        console.print(tr(TEXT["history"], **steps), highlight=False)
    if out.basemap:
        rows = sum(out.basemap.counts.values())
        console.print(tr(TEXT["basemap"], rows=rows), highlight=False)
    if out.new_users:
        console.print(tr(TEXT["users"]))
        for name, role, password in out.new_users:
            console.print(f"  {name:<16} {role:<11} {password}", highlight=False)


def register(app: typer.Typer) -> None:
    """Attach the data commands."""
    app.add_typer(import_app, name="import")
    app.command(
        "demo",
        help=tr(
            "Load the Haidian demo (OSM-derived areas, buildings, categories, demo incidents)."
        ),
    )(demo)
