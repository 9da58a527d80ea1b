"""`gridgov check coverage`: gaps, overlaps and outside-parent pieces of the area hierarchy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import cli_translator, console, database, settings, tr
from api.cli_toolkit import CliApp
from api.error_messages import localise
from api.responses import dumps
from api.services.boundaries.coverage import coverage
from gis.topology import feature_collection
from web_map.i18n import N_

TEXT = {
    "accepted": N_("Accepted"),
    "accepted_by": N_("{at} {by} ({source})"),
    "accepted_count": N_("{n} of them were accepted and recorded at import."),
    "title": N_("coverage problems"),
    "kind": N_("kind"),
    "codes": N_("codes"),
    "area": N_("area m²"),
    "message": N_("message"),
    "children": N_("{n} coverage problem(s) among children of {parent}."),
    "all": N_("{n} coverage problem(s) among all areas."),
}

check_app = CliApp(no_args_is_help=True, help=tr("Check the area hierarchy's topology."))


@check_app.command(
    "coverage",
    help=tr("List gaps, overlaps and outside-parent pieces; exit code 1 when any is not accepted."),
)
def check_coverage(
    parent: Annotated[
        str | None, typer.Option(help=tr("check this parent's children only (default: all)"))
    ] = None,
    geojson: Annotated[
        bool,
        typer.Option("--geojson", help=tr("print the problems as a GeoJSON FeatureCollection")),
    ] = False,
) -> None:
    """List gaps, overlaps and outside-parent pieces; exit code 1 when any is not accepted."""
    s = settings()
    with database(s) as conn:
        problems = coverage(conn, s.topology, parent)
    doc = feature_collection(problems)
    accepted = sum(1 for p in problems if p.extra.get("accepted"))
    if geojson:
        print(dumps(doc).decode())
    else:
        heads = ("kind", "codes", "area", "message", "accepted")
        table = Table(*(tr(TEXT[k]) for k in heads), title=tr(TEXT["title"]))
        for f in doc["features"]:
            p = f["properties"]
            ok = p.get("accepted")
            table.add_row(
                p["kind"],
                ", ".join(p["codes"]),
                f"{p['area_m2']:,.2f}",
                localise(p["message"], cli_translator()),
                tr(TEXT["accepted_by"], at=str(ok["at"])[:10], by=ok["by"], source=ok["source"])
                if ok
                else "",
            )
        if problems:
            console.print(table)
        if parent:
            said = tr(TEXT["children"], n=len(problems), parent=parent)
        else:
            said = tr(TEXT["all"], n=len(problems))
        console.print(said, highlight=False)
        if accepted:
            console.print(tr(TEXT["accepted_count"], n=accepted), highlight=False)
    # problems accepted at import are known and recorded: only the others fail the check
    if len(problems) > accepted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the check commands."""
    app.add_typer(check_app, name="check")
