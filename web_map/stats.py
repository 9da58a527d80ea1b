"""The evaluation map (/map/stats): a choropleth of areas by one metric, a table, a trend chart.

The page is fixed markup plus a config block (metrics, levels, default period); `static/stats.js`
loads the areas and GET /api/v1/stats, colours the areas, fills the tables and, on a click,
draws the area's (or department's) trend from GET /api/v1/stats/trend as inline SVG.
`static/hotspots.js` adds the optional hotspot layer. Nothing here touches the database.
"""

from __future__ import annotations

from typing import Any

from api.settings import MapSettings
from web_map.pages import (
    AREA_LEVELS,
    LOCAL_CSS,
    LOCAL_JS,
    STATIC_URL,
    RawHtml,
    add_page_config,
    base_map,
    figure_of,
)

PAGE_PATH = "/map/stats"
STATS_JS = [
    *LOCAL_JS,
    ("hotspots", f"{STATIC_URL}/hotspots.js"),
    ("stats", f"{STATIC_URL}/stats.js"),
]
STATS_CSS = [*LOCAL_CSS, ("stats_css", f"{STATIC_URL}/stats.css")]
DEFAULT_METRIC = "on_time_handling_rate"

# Fixed markup; every piece of API data is added by stats.js as text.
PANEL = """
<aside id="gg-stats" class="gg-stats" aria-label="综合评价 Evaluation">
  <header class="gg-stats-head">
    <h1 class="gg-title">GridGov <span lang="zh-Hans">综合评价</span> Evaluation</h1>
    <form method="post" action="/logout" class="gg-logout">
      <button type="submit">退出 Sign out</button>
    </form>
  </header>
  <p id="status" class="gg-status" role="status" aria-live="polite" data-state="loading">
    加载中 Loading…</p>
  <form id="gg-stats-form" class="gg-stats-form" aria-label="条件 Options">
    <label>指标 Metric <select name="metric"></select></label>
    <label>层级 Level <select name="level"></select></label>
    <label>自 From <input type="date" name="from" required></label>
    <label>至 To <input type="date" name="to" required></label>
    <label class="gg-check"><input type="checkbox" name="hotspots">
      热点 Hotspots (30 天 days)</label>
    <a id="gg-csv" class="gg-csv" href="#" download>导出 CSV</a>
  </form>
  <ul id="gg-choropleth-legend" class="gg-choropleth-legend" aria-label="图例 Legend"></ul>
  <section id="gg-flags" class="gg-flags" aria-label="负面清单 Negative list">
    <h2>负面清单 Negative list</h2>
    <ul id="gg-flag-list"></ul>
  </section>
  <nav class="gg-tabs" role="tablist">
    <button type="button" role="tab" data-tab="area" aria-selected="true">区域 Areas</button>
    <button type="button" role="tab" data-tab="department" aria-selected="false">部门
      Departments</button>
  </nav>
  <div class="gg-table-wrap">
    <table id="gg-table" class="gg-table" data-tab="area">
      <thead></thead><tbody></tbody>
    </table>
  </div>
</aside>
<aside id="gg-detail" class="gg-detail" data-state="empty" aria-live="polite"
  aria-label="详情 Details">
  <p class="gg-hint">点击区域或表格行查看指标与趋势 · Click an area or a row for its figures and
    trend.</p>
</aside>
"""


def stats_page(
    settings: MapSettings,
    *,
    metrics: list[dict[str, Any]],
    period: dict[str, str],
    level_labels: dict[str, str] | None = None,
    timezone: str = "Asia/Shanghai",
    title: str = "GridGov · 综合评价 Evaluation",
) -> str:
    """The evaluation map; `metrics` and the default `period` come from the API's router."""
    fmap = base_map(settings, title=title)
    fmap.default_js = list(STATS_JS)
    fmap.default_css = list(STATS_CSS)
    labels = level_labels or {}
    levels = [
        {"level": lvl.level, "label": labels.get(lvl.level, lvl.label)} for lvl in AREA_LEVELS
    ]
    figure_of(fmap).html.add_child(RawHtml(PANEL))
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
    return str(figure_of(fmap).render())
