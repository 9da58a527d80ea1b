"""The boundary editor page (/map/edit): folium + Leaflet-Geoman, both served by GridGov.

The page holds no data: edit.js signs the user's changes with the session's CSRF token and sends
them to the boundary-editing API (POST/PUT/DELETE /api/v1/areas…, preview, split, merge,
history, coverage), drawing the API's topology problems on the map.
"""

from __future__ import annotations

import folium

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import (
    LOCAL_CSS,
    LOCAL_JS,
    STATIC_URL,
    RawHtml,
    add_page_config,
    area_layers,
    base_map,
    figure_of,
    render_page,
)
from web_map.templating import render

GEOMAN = f"{STATIC_URL}/vendor/leaflet-geoman"
# Geoman patches Leaflet when it loads, so it comes right after Leaflet and before the map is made;
# edit.js registers its page before gridgov.js starts pages on DOMContentLoaded.
EDIT_JS = [
    LOCAL_JS[0],
    ("leaflet_geoman", f"{GEOMAN}/leaflet-geoman.js"),
    *LOCAL_JS[1:],
    ("gridgov_edit", f"{STATIC_URL}/edit.js"),
    ("gridgov_edit_tools", f"{STATIC_URL}/edit_tools.js"),
    ("gridgov_edit_history", f"{STATIC_URL}/edit_history.js"),
]
EDIT_CSS = [
    LOCAL_CSS[0],
    ("leaflet_geoman_css", f"{GEOMAN}/leaflet-geoman.css"),
    *LOCAL_CSS[1:],
]

BUILDINGS_PANE = "gridgov-buildings"
WORK_PANE = "gridgov-work"  # the parent's children being edited, above every context level
PROBLEMS_PANE = "gridgov-problems"  # topology problems and coverage, above the work
SNAP_DISTANCE_PX = 20
LOGIN_URL = "/login?next=/map/edit"


# (tool, label, needs a selected area); disabled until edit_tools.js knows who is signed in
TOOLS = (
    ("draw", N_("Draw new"), False),
    ("edit", N_("Edit vertices"), True),
    ("cut", N_("Cut"), True),
    ("split", N_("Split"), True),
    ("merge", N_("Merge"), True),
    ("retire", N_("Retire"), True),
)


def edit_page(settings: MapSettings, tr: Translator = CHINESE, *, shell: str = "") -> str:
    """The editor: area levels and buildings as context, the chosen parent's children editable."""
    fmap = base_map(settings, tr, title=N_("Boundary editor"), shell=shell)
    fmap.default_js = list(EDIT_JS)
    fmap.default_css = list(EDIT_CSS)
    levels = area_layers(fmap, tr=tr, labels=settings.level_labels)
    folium.map.CustomPane(BUILDINGS_PANE, z_index=445, pointer_events=True).add_to(fmap)
    buildings = folium.FeatureGroup(name=tr("Buildings"), overlay=True, control=True, show=True)
    buildings.add_to(fmap)
    for pane, z in ((WORK_PANE, 450), (PROBLEMS_PANE, 460)):
        folium.map.CustomPane(pane, z_index=z, pointer_events=True).add_to(fmap)
    folium.LayerControl(position="topleft", collapsed=True).add_to(fmap)
    tools = [{"name": n, "label": label, "needs_selection": needs} for n, label, needs in TOOLS]
    figure_of(fmap).html.add_child(RawHtml(render("edit.html", tr, tools=tools)))
    add_page_config(
        fmap,
        {
            "page": "edit",
            "levels": levels,
            "buildings": {"layer": buildings.get_name(), "pane": BUILDINGS_PANE},
            "panes": {"work": WORK_PANE, "problems": PROBLEMS_PANE},
            "snap_distance_px": SNAP_DISTANCE_PX,
            "login": LOGIN_URL,
        },
    )
    return render_page(fmap)
