"""`gridgov stats`: the evaluation table (综合评价) in the terminal, or as CSV for Excel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import cli_translator, console, database, fail, settings, tr
from api.services.evaluation.stats import METRICS, Scope, compute_stats, parse_period, stats_csv

# The columns that fit a terminal; --csv writes every metric.
TABLE_COLUMNS = (
    "reported",
    "dispatched",
    "handled",
    "closed",
    "open",
    "overdue",
    "on_time_handling_rate",
    "closing_rate",
    "on_time_closing_rate",
    "rework_rate",
    "return_rate",
    "avg_handling_hours",
    "p90_handling_hours",
    "checkin_on_time_rate",
)


def _cell(value: object, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]
    return str(value)


def stats_command(
    start: Annotated[
        str | None, typer.Option("--from", help=tr("first day (YYYY-MM-DD) or ISO date-time"))
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help=tr("last day (included) or ISO date-time"))
    ] = None,
    group_by: Annotated[
        str, typer.Option("--group-by", help=tr("department | area | category"))
    ] = "department",
    level: Annotated[
        str | None,
        typer.Option(help=tr("area level (default grid) or, for categories, major|category")),
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help=tr("also write every metric to this CSV file"))
    ] = None,
    codes: Annotated[
        bool,
        typer.Option(
            "--codes", help=tr("CSV header of stable metric keys instead of the language's labels")
        ),
    ] = False,
) -> None:
    """Print counts and rates per department, area or category (formulas: docs/metrics.md)."""
    s = settings()
    now = dt.datetime.now(dt.UTC)
    with database(s) as conn:
        period = parse_period(start, end, s.calendar.timezone, now)
        doc = compute_stats(conn, None, period, group_by, level, scope=Scope(), tr=cli_translator())
    kinds = {m.key: m.kind for m in METRICS}
    labels = {m.key: tr(m.en) for m in METRICS}
    p = doc["period"]
    title = tr("GridGov evaluation · {group}", group=group_by)
    title += f" ({doc['level']})" if doc["level"] else ""
    caption = tr("{start} … {end} (as of {as_of})", start=p["from"], end=p["to"], as_of=p["as_of"])
    table = Table(title=title, caption=caption)
    table.add_column(tr("Code"), no_wrap=True)
    table.add_column(tr("Name"))
    for key in TABLE_COLUMNS:
        table.add_column(labels[key], justify="right")
    for row in [*doc["rows"], doc["total"]]:
        table.add_row(
            row["code"] or "", row["name"], *(_cell(row[k], kinds[k]) for k in TABLE_COLUMNS)
        )
    console.print(table)
    if csv is not None:
        try:
            csv.write_bytes(stats_csv(doc, cli_translator(), codes=codes).encode("utf-8"))
        except OSError as exc:
            fail(tr("Cannot write {path}: {error}", path=csv, error=exc.strerror))
        console.print(
            tr("wrote {n} rows to {path}", n=len(doc["rows"]) + 1, path=csv), highlight=False
        )


def register(app: typer.Typer) -> None:
    """Attach `gridgov stats`."""
    app.command(
        "stats",
        help=tr(
            "Print counts and rates per department, area or category (formulas: docs/metrics.md)."
        ),
    )(stats_command)
