"""`gridgov check coverage`: gaps, overlaps and outside-parent pieces of the area hierarchy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import console, database, settings
from api.responses import dumps
from api.services.boundaries.coverage import coverage
from gis.topology import feature_collection

TEXT = {
    "accepted": "已接受",
    "accepted_by": "{at:.10} {by}（{source}）",
    "accepted_count": "其中 {n} 个问题已在导入时接受并记录。",
}

check_app = typer.Typer(no_args_is_help=True, help="Check the area hierarchy's topology.")


@check_app.command("coverage")
def check_coverage(
    parent: Annotated[
        str | None, typer.Option(help="check this parent's children only (default: all)")
    ] = None,
    geojson: Annotated[
        bool, typer.Option("--geojson", help="print the problems as a GeoJSON FeatureCollection")
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
        table = Table(
            "kind", "codes", "area m²", "message", TEXT["accepted"], title="coverage problems"
        )
        for f in doc["features"]:
            p = f["properties"]
            ok = p.get("accepted")
            table.add_row(
                p["kind"],
                ", ".join(p["codes"]),
                f"{p['area_m2']:,.2f}",
                p["message"],
                TEXT["accepted_by"].format(**ok) if ok else "",
            )
        if problems:
            console.print(table)
        where = f"children of {parent}" if parent else "all areas"
        console.print(f"{len(problems)} coverage problem(s) among {where}.", highlight=False)
        if accepted:
            console.print(TEXT["accepted_count"].format(n=accepted), highlight=False)
    # problems accepted at import are known and recorded: only the others fail the check
    if len(problems) > accepted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the check commands."""
    app.add_typer(check_app, name="check")
