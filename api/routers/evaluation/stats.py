"""综合评价 over HTTP: statistics (JSON or CSV), the negative list and per-group trends."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from api.deps import (
    ClockDep,
    ReadConnDep,
    ReadCurrentUser,
    SettingsDep,
    allow_long_statements,
)
from api.locale import TranslatorDep
from api.responses import JSON
from api.services.evaluation.flags import negative_list, trend
from api.services.evaluation.stats import Period, compute_stats, parse_period, stats_csv
from api.services.identity.auth import User
from api.services.patrols.figures import add_patrol_figures, add_unpatrolled_flags

router = APIRouter(prefix="/api/v1/stats", tags=["evaluation"])

FromQ = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="start: a date (local day) or ISO 8601 date-time; default: 30 days before to",
    ),
]
ToQ = Annotated[
    str | None,
    Query(max_length=40, description="end: a date (that day included) or date-time; default now"),
]
GroupQ = Annotated[Literal["department", "area", "category"], Query(description="rows by")]
LevelQ = Annotated[
    str | None,
    Query(
        max_length=20,
        description="area level (district|street|community|grid, default grid) or, for "
        "categories, major|category",
    ),
]


def period_param(
    settings: SettingsDep, clock: ClockDep, start: FromQ = None, to: ToQ = None
) -> Period:
    """The period of `from` and `to` in the calendar's time zone (400 when unreadable)."""
    return parse_period(start, to, settings.calendar.timezone, clock())


PeriodDep = Annotated[Period, Depends(period_param)]


@dataclass(frozen=True)
class Reading:
    """What every evaluation read needs: the caller (whose scope bounds the figures), the
    connection and the period."""

    user: User
    conn: ReadConnDep
    period: Period


async def reading(user: ReadCurrentUser, conn: ReadConnDep, period: PeriodDep) -> Reading:
    """The read's context (async: it only gathers what the other dependencies gave)."""
    return Reading(user, conn, period)


ReadingDep = Annotated[Reading, Depends(reading)]


@router.get("", response_model=None)
def stats(
    request: Request,
    read: ReadingDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    group_by: GroupQ = "area",
    level: LevelQ = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: UTF-8 with BOM")] = "json",
    headers: Annotated[
        Literal["labels", "codes"],
        Query(description="CSV header: labels in the caller's language, or stable metric keys"),
    ] = "labels",
) -> Response:
    """Counts and rates per group over a period (formulas: docs/metrics.md)."""
    conn, period = read.conn, read.period
    spare = None
    if format == "csv":  # a download (a year, every grid): the export timeout
        allow_long_statements(request, conn)
    else:  # the handling times read on a second connection meanwhile, when one is free at once
        spare = partial(request.app.state.read_pool.spare, request.state.read_on_replica)
    doc = compute_stats(conn, read.user, period, group_by, level, spare=spare, tr=tr)
    add_patrol_figures(conn, settings, doc, period.start, period.as_of, tr)  # 大联勤 coverage
    if format == "csv":
        day = period.start.astimezone(period.tz).date().isoformat()
        name = f"gridgov-stats-{group_by}-{day}.csv"
        return Response(
            stats_csv(doc, tr, codes=headers == "codes").encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSON(doc)


@router.get("/flags", response_class=JSON)
def flags(
    request: Request,
    read: ReadingDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    level: LevelQ = None,
    limit: Annotated[
        int | None,
        Query(
            ge=0,
            le=100_000,
            description="at most this many flags, the first in the list's order (departments, "
            "then areas by code, then grids flagged only as unpatrolled; 0: none); `matched` "
            "counts them all",
        ),
    ] = None,
) -> JSON:
    """负面清单: departments and areas breaching the GRIDGOV_FLAG_* thresholds, with reasons
    (their messages in the caller's language: ?lang=, Accept-Language; Chinese by default);
    `matched`: how many flags there are, `limit`: the first ones only (the page shows 500)."""
    # the departments judged on a second connection meanwhile, when one is free at once
    spare = partial(request.app.state.read_pool.spare, request.state.read_on_replica)
    # with the grids nobody walked lately
    unpatrolled = partial(
        add_unpatrolled_flags, read.conn, settings, user=read.user, as_of=read.period.as_of, tr=tr
    )
    return JSON(
        negative_list(
            read.conn,
            read.user,
            settings.evaluation,
            read.period,
            level,
            spare,
            tr,
            more=unpatrolled,
            limit=limit,
        )
    )


@router.get("/trend", response_class=JSON)
def stats_trend(
    request: Request,
    read: ReadingDep,
    code: Annotated[str, Query(max_length=64, description="the group's code")],
    group_by: GroupQ = "area",
    level: LevelQ = None,
    interval: Annotated[
        Literal["day", "week", "month"] | None,
        Query(description="bucket size; default by the period's length"),
    ] = None,
) -> JSON:
    """One group's figures per day, week or month of the period (for trend charts)."""
    pool, on_replica = request.app.state.read_pool, request.state.read_on_replica
    group = (group_by, level, code)
    spare = partial(pool.spare, on_replica)
    # read on a replica: the past buckets are kept on the primary (a connection free at once)
    primary = partial(pool.spare, False) if on_replica else None
    return JSON(trend(read.conn, read.user, read.period, group, interval, spare, primary))
