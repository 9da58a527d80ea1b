"""The dispatch console (/map/dispatch): live incident markers, filters and a case panel.

The page is static markup plus a config block; the scripts of DISPATCH_SCRIPTS (one concern each,
see static/dispatch.js) ask the API who is signed in (GET /api/v1/session), load incidents,
follow GET /api/v1/stream, and show one incident with exactly the actions the API allows the
user (`static/dispatch_case.js`). Nothing here touches the database.
"""

from __future__ import annotations

from typing import Any

import folium

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
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
    render_page,
    with_vectorgrid,
)
from web_map.photo_labels import photo_labels
from web_map.templating import render
from web_map.workflow_labels import labels

MARKERCLUSTER = f"{STATIC_URL}/vendor/leaflet.markercluster"
# The console's own scripts (static/<name>.js) in load order: dispatch_common first (the shared
# state and helpers); the modules before dispatch.js (the start); then the ones that extend the
# case panel. A new module is one more name here (modules call each other late, see dispatch.js).
DISPATCH_SCRIPTS: tuple[str, ...] = (
    "dispatch_common",
    "dispatch_filters",
    "dispatch_tiles",
    "dispatch_markers",
    "dispatch_list",
    "dispatch_live",
    "dispatch",
    "dispatch_case",
    "dispatch_whistles",
    "dispatch_urge",
    "dispatch_search",
    "dispatch_focus",
    "dispatch_patrols",  # 大联勤: officers on patrol, today's tracks, nearest officers
)
# Grids and buildings come as vector tiles (VectorGrid, canvas): 10,000 SVG polygons drawn from
# GeoJSON took most of the console's load time.
DISPATCH_JS = [
    *with_vectorgrid([js for js in LOCAL_JS if js[0] == "leaflet"]),
    ("markercluster", f"{MARKERCLUSTER}/leaflet.markercluster.js"),
    *[js for js in LOCAL_JS if js[0] != "leaflet"],
    ("hotspots", f"{STATIC_URL}/hotspots.js"),
    ("photos", f"{STATIC_URL}/photos.js"),
    *[(name, f"{STATIC_URL}/{name}.js") for name in DISPATCH_SCRIPTS],
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


def dispatch_page(
    settings: MapSettings,
    tr: Translator = CHINESE,
    *,
    shell: str = "",
    max_page_size: int = 1000,
    photos: dict[str, Any] | None = None,
) -> str:
    """The dispatch console: grid layer, clustered incident markers, filters and a case panel.

    Up to `settings.incident_markers` incidents (one API page) are all markers. Beyond that the
    console draws incidents from /tiles/incidents when zoomed out (canvas, with the filters as
    tile parameters) and loads markers for the visible area from MARKER_MIN_ZOOM in.
    """
    fmap = base_map(settings, tr, title=N_("Dispatch console"), shell=shell)
    fmap.default_js = list(DISPATCH_JS)
    fmap.default_css = list(DISPATCH_CSS)
    levels = area_layers(fmap, only=("grid",), tr=tr, tiles=True, labels=settings.level_labels)
    buildings = building_layer(fmap, tr)
    incidents = folium.FeatureGroup(name=tr("Incidents"), overlay=True, control=True, show=True)
    incidents.add_to(fmap)
    # not interactive: clicks go through to the map, and dispatch.js finds the incident (pickAt)
    folium.map.CustomPane(INCIDENT_PANE, z_index=450, pointer_events=False).add_to(fmap)
    hotspots = folium.FeatureGroup(name=tr("Hotspots"), overlay=True, control=True, show=True)
    hotspots.add_to(fmap)
    # top left, under the zoom buttons: the top right belongs to the case panel (its × and status
    # badge were under the control, out of reach)
    folium.LayerControl(position="topleft", collapsed=False).add_to(fmap)
    figure_of(fmap).html.add_child(RawHtml(render("dispatch.html", tr)))
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
            **labels(tr),
            **(photos or photo_labels(tr=tr)),
        },
    )
    return render_page(fmap)
