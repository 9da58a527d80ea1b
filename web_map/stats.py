"""The evaluation map (/map/stats): a choropleth of areas by one metric, a table, a trend chart.

The page is fixed markup plus a config block (metrics, levels, default period); `static/stats.js`
loads the areas and GET /api/v1/stats, colours the areas, fills the tables and, on a click,
draws the area's (or department's) trend from GET /api/v1/stats/trend as inline SVG.
`static/hotspots.js` adds the optional hotspot layer. Nothing here touches the database.
"""

from __future__ import annotations

from typing import Any

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import (
    AREA_LEVELS,
    LOCAL_CSS,
    STATIC_URL,
    RawHtml,
    add_page_config,
    base_map,
    figure_of,
    page_js,
    render_page,
)
from web_map.templating import render

PAGE_PATH = "/map/stats"
STATS_JS = page_js("hotspots", "stats", "stats_patrols")  # stats_patrols: 大联勤 coverage
STATS_CSS = [*LOCAL_CSS, ("stats_css", f"{STATIC_URL}/stats.css")]
DEFAULT_METRIC = "on_time_handling_rate"


def stats_page(
    settings: MapSettings,
    tr: Translator = CHINESE,
    *,
    shell: str = "",
    metrics: list[dict[str, Any]],
    period: dict[str, str],
    level_labels: dict[str, str] | None = None,
    timezone: str = "Asia/Shanghai",
) -> str:
    """The evaluation map; `metrics` and the default `period` come from the API's router."""
    fmap = base_map(settings, tr, title=N_("Evaluation"), shell=shell)
    fmap.default_js = list(STATS_JS)
    fmap.default_css = list(STATS_CSS)
    labels = level_labels or {}
    levels = [
        {"level": lvl.level, "label": labels.get(lvl.level) or lvl.label(tr)} for lvl in AREA_LEVELS
    ]
    figure_of(fmap).html.add_child(RawHtml(render("stats.html", tr)))
    add_page_config(
        fmap,
        {
            "page": "stats",
            "metrics": metrics,
            "levels": levels,
            "period": period,
            "defaults": {"metric": DEFAULT_METRIC, "level": "grid"},
            "login": f"/login?next={PAGE_PATH}",
            "timezone": timezone,
        },
    )
    return render_page(fmap)
