"""The dispatch console (/map/dispatch): live incident markers, filters and a case panel.

The page is static markup plus a config block; `static/dispatch.js` asks the API who is signed
in (GET /api/v1/session), loads incidents and follows GET /api/v1/stream; `static/dispatch_case.js`
shows one incident and exactly the actions the API allows the user. Nothing here touches the
database.
"""

from __future__ import annotations

from typing import Any

import folium

from api.settings import MapSettings
from web_map.pages import (
    LOCAL_CSS,
    LOCAL_JS,
    STATIC_URL,
    TILES_URL,
    RawHtml,
    add_page_config,
    area_layers,
    base_map,
    building_layer,
    figure_of,
    with_vectorgrid,
)
from web_map.photo_labels import photo_labels
from web_map.workflow_labels import labels

MARKERCLUSTER = f"{STATIC_URL}/vendor/leaflet.markercluster"
# Grids and buildings come as vector tiles (VectorGrid, canvas): 10,000 SVG polygons drawn from
# GeoJSON took most of the console's load time.
DISPATCH_JS = [
    *with_vectorgrid([js for js in LOCAL_JS if js[0] == "leaflet"]),
    ("markercluster", f"{MARKERCLUSTER}/leaflet.markercluster.js"),
    *[js for js in LOCAL_JS if js[0] != "leaflet"],
    ("hotspots", f"{STATIC_URL}/hotspots.js"),
    ("photos", f"{STATIC_URL}/photos.js"),
    ("dispatch", f"{STATIC_URL}/dispatch.js"),
    ("dispatch_case", f"{STATIC_URL}/dispatch_case.js"),
    ("dispatch_urge", f"{STATIC_URL}/dispatch_urge.js"),
]
DISPATCH_CSS = [
    *[css for css in LOCAL_CSS if css[0] == "leaflet_css"],
    ("markercluster_css", f"{MARKERCLUSTER}/MarkerCluster.css"),
    ("markercluster_default_css", f"{MARKERCLUSTER}/MarkerCluster.Default.css"),
    *[css for css in LOCAL_CSS if css[0] != "leaflet_css"],
]
LOGIN_PATH = "/login"
INCIDENT_PANE = "gridgov-incident-tiles"  # above grids (400s) and buildings (445)
MARKER_MIN_ZOOM = 15  # with many incidents: markers from here in, tiles below
PAGE_PATH = "/map/dispatch"

# Fixed markup; every piece of API data is added by dispatch.js as text.
CONSOLE = """
<aside id="gg-console" class="gg-console" aria-label="调度台 Dispatch console">
  <header class="gg-console-head">
    <h1 class="gg-title">GridGov <span lang="zh-Hans">调度台</span> Dispatch</h1>
    <form method="post" action="/logout" class="gg-logout">
      <button type="submit" id="gg-logout">退出 Sign out</button>
    </form>
  </header>
  <p id="gg-user" class="gg-user" data-state="loading"></p>
  <p id="status" class="gg-status" role="status" aria-live="polite" data-state="loading">
    加载中 Loading…</p>
  <p id="gg-live" class="gg-live" data-state="connecting">实时连接中 Connecting…</p>
  <form id="gg-filters" class="gg-filters" aria-label="筛选 Filters">
    <label>状态 Status <select name="status"></select></label>
    <label>类别 Category <select name="category"><option value="">全部 All</option></select>
    </label>
    <label>部门 Department
      <select name="department"><option value="">全部 All</option></select></label>
    <label>区域 Area <input name="area" list="gg-area-codes" maxlength="64"
      placeholder="区域代码 area code" autocomplete="off"></label>
    <datalist id="gg-area-codes"></datalist>
    <label class="gg-check"><input type="checkbox" name="overdue" value="true">
      只看超期 Overdue only</label>
  </form>
  <ul id="gg-legend" class="gg-legend gg-status-legend"></ul>
  <ul id="gg-list" class="gg-list" aria-label="事件 Incidents"></ul>
</aside>
<aside id="gg-case" class="gg-case" data-state="empty" aria-live="polite"
  aria-label="事件详情 Incident">
  <p class="gg-hint">点击地图上的事件查看详情 · Click an incident to see it and act on it.</p>
</aside>
"""


def dispatch_page(
    settings: MapSettings,
    *,
    max_page_size: int = 1000,
    title: str = "GridGov · 调度台 Dispatch",
    photos: dict[str, Any] | None = None,
) -> str:
    """The dispatch console: grid layer, clustered incident markers, filters and a case panel.

    Up to `settings.incident_markers` incidents (one API page) are all markers. Beyond that the
    console draws incidents from /tiles/incidents when zoomed out (canvas, with the filters as
    tile parameters) and loads markers for the visible area from MARKER_MIN_ZOOM in.
    """
    fmap = base_map(settings, title=title)
    fmap.default_js = list(DISPATCH_JS)
    fmap.default_css = list(DISPATCH_CSS)
    levels = area_layers(fmap, only=("grid",), tiles=True, labels=settings.level_labels)
    buildings = building_layer(fmap)
    incidents = folium.FeatureGroup(name="事件 Incidents", overlay=True, control=True, show=True)
    incidents.add_to(fmap)
    # not interactive: clicks go through to the map, and dispatch.js finds the incident (pickAt)
    folium.map.CustomPane(INCIDENT_PANE, z_index=450, pointer_events=False).add_to(fmap)
    hotspots = folium.FeatureGroup(name="热点 Hotspots", overlay=True, control=True, show=True)
    hotspots.add_to(fmap)
    folium.LayerControl(position="topright", collapsed=False).add_to(fmap)
    figure_of(fmap).html.add_child(RawHtml(CONSOLE))
    add_page_config(
        fmap,
        {
            "page": "dispatch",
            "levels": levels,
            "buildings": buildings,
            "incidents_layer": incidents.get_name(),
            "incident_tiles": {
                "url": f"{TILES_URL}/incidents/{{z}}/{{x}}/{{y}}.pbf",
                "pane": INCIDENT_PANE,
                "marker_min_zoom": MARKER_MIN_ZOOM,
                "markers_max": min(settings.incident_markers, max_page_size),
                "view_max": max_page_size,  # markers of the visible area, zoomed in
            },
            "hotspots_layer": hotspots.get_name(),
            "login": f"{LOGIN_PATH}?next={PAGE_PATH}",
            **labels(),
            **(photos or photo_labels()),
        },
    )
    return str(figure_of(fmap).render())
