"""`gridgov demo` and `gridgov import areas|buildings|config`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from api.cli_common import console, database, err, fail, settings
from api.responses import dumps
from api.services.boundaries.imports import ImportReport, import_areas, import_buildings
from api.services.intake.config_import import import_config
from gis.errors import TopologyError

TEXT = {
    "retired_skipped": "已撤销的编码未恢复（需要时加 --revive）：{codes}",
    "revived": "已恢复的撤销编码：{codes}",
    "edited_skipped": "自上次导入后被人工修改的区域未覆盖（需要时加 --overwrite-edited）：{codes}",
    "edited_overwritten": "已覆盖人工修改：{codes}",
    "accepted": "已接受并记录 {n} 个拓扑问题（gridgov check coverage 可查看）",
    "problems_title": "拓扑问题",
    "problems_written": "问题图层已写入 {path}",
}
COLUMNS = ("类型", "编码", "面积 m²", "说明")

import_app = typer.Typer(no_args_is_help=True, help="Import areas, buildings or configuration.")

FileArg = Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile … (via GDAL)")]
CrsOpt = Annotated[
    str | None,
    typer.Option(help="CRS of the file's coordinates: EPSG:n, or GCJ02 / BD09 (Amap, Baidu)"),
]


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _stepper(bar: Progress, what: str):  # type: ignore[no-untyped-def]
    task = bar.add_task(what, total=None)

    def step(stage: str, done: int, total: int | None) -> None:
        bar.update(task, description=f"{what}: {stage}", completed=done, total=total)

    return step


def _print_problems(doc: dict[str, Any], problems_out: Path | None) -> None:
    table = Table(*COLUMNS, title=TEXT["problems_title"])
    for f in doc["features"]:
        p = f["properties"]
        area = "" if p["area_m2"] is None else f"{p['area_m2']:,.2f}"
        table.add_row(p["kind"], ", ".join(p["codes"]), area, p["message"])
    err.print(table)
    if problems_out is not None:
        problems_out.write_bytes(dumps(doc))
        err.print(TEXT["problems_written"].format(path=problems_out), highlight=False)


def _summary(what: str, r: ImportReport) -> None:
    console.print(
        f"{what}: {r.created} new, {r.updated} updated, {r.unchanged} unchanged"
        + (f", {r.generated_codes} codes generated" if r.generated_codes else ""),
        highlight=False,
    )
    for fix in r.repaired:
        console.print(f"  repaired feature {fix.ident}: {fix.reason}", highlight=False)
    for key in ("retired_skipped", "revived", "edited_skipped", "edited_overwritten"):
        codes = getattr(r, key)
        if codes:
            console.print("  " + TEXT[key].format(codes=", ".join(codes)), highlight=False)


@import_app.command("areas")
def import_areas_cmd(
    file: FileArg,
    level: Annotated[str, typer.Option(help="district, street, community or grid")],
    code_field: Annotated[str, typer.Option(help="field holding the area code")] = "code",
    name_field: Annotated[str, typer.Option(help="field holding the name")] = "name",
    parent_code: Annotated[str | None, typer.Option(help="parent of every feature")] = None,
    crs: CrsOpt = None,
    revive: Annotated[
        bool, typer.Option(help="bring back codes that were retired (split, merged, retired)")
    ] = False,
    overwrite_edited: Annotated[
        bool, typer.Option(help="replace areas people changed since the last import")
    ] = False,
    accept_problems: Annotated[
        bool, typer.Option(help="import despite overlaps / outside-parent pieces; record them")
    ] = False,
    problems_out: Annotated[
        Path | None, typer.Option(help="write the problems found to this GeoJSON file")
    ] = None,
) -> None:
    """Import one level of areas (all or nothing; checked like API saves; history respected)."""
    config = settings()
    refused: TopologyError | None = None
    with database(config) as conn, _bar() as bar:
        try:
            report = import_areas(
                conn,
                file,
                level=level,
                code_field=code_field,
                name_field=name_field,
                parent_code=parent_code,
                crs=crs,
                progress=_stepper(bar, f"areas ({level})"),
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
    _summary(f"{level} areas", report)
    if report.accepted:
        console.print(TEXT["accepted"].format(n=len(report.accepted)), highlight=False)
        doc: dict[str, Any] = {"type": "FeatureCollection", "features": report.accepted}
        if problems_out is not None:
            _print_problems(doc, problems_out)
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
        report = import_buildings(
            conn,
            file,
            id_field=id_field,
            name_field=name_field,
            source=source,
            address_field=address_field,
            households_field=households_field,
            crs=crs,
            progress=_stepper(bar, "buildings"),
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
    if out.history:
        h = out.history
        console.print(
            f"demo history: {h.incidents} cases, {h.actions} workflow steps, {h.whistles} whistles",
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
