"""The evaluation map page (/map/stats); signed-in users only, like the dispatch console."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ClockDep
from api.routers.pages.shell import PageDep, login_redirect
from api.services.evaluation.stats import DEFAULT_DAYS, METRICS
from web_map.stats import PAGE_PATH, stats_page

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get(PAGE_PATH, response_class=HTMLResponse, response_model=None)
def stats_map(request: Request, page: PageDep, clock: ClockDep) -> HTMLResponse | RedirectResponse:
    """Choropleth + table + trend; anonymous visitors sign in first and come back here."""
    if page.user is None:
        return login_redirect(request)
    settings, tr = page.settings, page.tr
    today = clock().astimezone(ZoneInfo(settings.calendar.timezone)).date()
    period = {
        "from": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": today.isoformat(),
    }
    metrics = [{"key": m.key, "label": tr(m.en), "kind": m.kind, "good": m.good} for m in METRICS]
    html = stats_page(
        settings.map,
        tr,
        shell=page.shell(PAGE_PATH),
        metrics=metrics,
        period=period,
        level_labels=settings.evaluation.level_labels,
        timezone=settings.calendar.timezone,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
