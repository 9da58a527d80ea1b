"""The boundary editor page (/map/edit): folium + Leaflet-Geoman, both served by GridGov.

The page holds no data: edit.js signs the user's changes with the session's CSRF token and sends
them to the boundary-editing API (POST/PUT/DELETE /api/v1/areas…, preview, split, merge,
history, coverage), drawing the API's topology problems on the map.
"""

from __future__ import annotations

import folium

from api.settings import MapSettings
from web_map.pages import (
    LOCAL_CSS,
    LOCAL_JS,
    STATIC_URL,
    RawHtml,
    add_page_config,
    area_layers,
    base_map,
    figure_of,
)

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

PANEL_TEMPLATE = """
<aside id="gg-editor" class="gg-panel gg-editor" aria-label="边界编辑 Boundary editor">
<h1 class="gg-title">GridGov <span lang="zh-Hans">边界编辑</span> Boundary editor</h1>
<p id="gg-user" class="gg-hint"></p>
<label class="gg-field">工作区域 Work in
<select id="gg-parent" disabled></select></label>
<p id="status" class="gg-status" role="status" aria-live="polite" data-state="loading">
加载中 Loading…</p>
<ul id="gg-children" class="gg-children" aria-label="子区域 Areas"></ul>
<div id="gg-tools" class="gg-tools" role="toolbar" aria-label="工具 Tools">
{tools}
</div>
<section id="gg-draft" class="gg-draft" hidden>
<p id="gg-draft-text" class="gg-draft-text"></p>
<label class="gg-field" id="gg-name-field">名称 Name <input id="gg-name" maxlength="200"></label>
<label class="gg-field">说明 Note <input id="gg-note" maxlength="2000"
 placeholder="为什么修改 Why this change"></label>
<div class="gg-ed-actions">
<button type="button" id="gg-save" class="gg-primary">保存 Save</button>
<button type="button" id="gg-discard">放弃 Discard</button>
</div>
</section>
<section id="gg-message" class="gg-message" role="alert" hidden>
<p id="gg-message-text" class="gg-message-text"></p>
<ul id="gg-message-list" class="gg-message-list"></ul>
<div class="gg-ed-actions">
<button type="button" id="gg-confirm" class="gg-primary" hidden>确认保存 Confirm and save</button>
<button type="button" id="gg-snap" hidden>吸附到邻居 Snap to neighbours</button>
<button type="button" id="gg-reload" hidden>重新加载 Reload</button>
<button type="button" id="gg-back" hidden>返回编辑 Back to editing</button>
<button type="button" id="gg-cancel" hidden>取消 Cancel</button>
</div>
</section>
<label class="gg-ed-check"><input type="checkbox" id="gg-coverage">
覆盖问题 Coverage problems <span id="gg-coverage-count"></span></label>
<section id="gg-history" class="gg-history" hidden>
<h2>历史 History <span id="gg-history-code"></span></h2>
<ol id="gg-history-list" reversed></ol>
<div id="gg-lineage" hidden>
<h2>来源与去向 Lineage</h2>
<ul id="gg-lineage-list"></ul>
</div>
</section>
</aside>
"""


# (tool, label, needs a selected area); disabled until edit_tools.js knows who is signed in
TOOLS = (
    ("draw", "新建 Draw new", False),
    ("edit", "编辑顶点 Edit vertices", True),
    ("cut", "挖除 Cut", True),
    ("split", "切分 Split", True),
    ("merge", "合并 Merge", True),
    ("retire", "撤销 Retire", True),
)


def _tool_button(tool: str, label: str, needs_selection: bool) -> str:
    needs = ' data-needs="selected"' if needs_selection else ""
    return (
        f'<button type="button" id="gg-{tool}" data-tool="{tool}" disabled{needs}>{label}</button>'
    )


PANEL = PANEL_TEMPLATE.replace("{tools}", "\n".join(_tool_button(*t) for t in TOOLS))


def edit_page(settings: MapSettings, *, title: str = "GridGov · 边界编辑 Boundary editor") -> str:
    """The editor: area levels and buildings as context, the chosen parent's children editable."""
    fmap = base_map(settings, title=title)
    fmap.default_js = list(EDIT_JS)
    fmap.default_css = list(EDIT_CSS)
    levels = area_layers(fmap, labels=settings.level_labels)
    folium.map.CustomPane(BUILDINGS_PANE, z_index=445, pointer_events=True).add_to(fmap)
    buildings = folium.FeatureGroup(name="楼栋 Buildings", overlay=True, control=True, show=True)
    buildings.add_to(fmap)
    for pane, z in ((WORK_PANE, 450), (PROBLEMS_PANE, 460)):
        folium.map.CustomPane(pane, z_index=z, pointer_events=True).add_to(fmap)
    folium.LayerControl(position="topleft", collapsed=True).add_to(fmap)
    figure_of(fmap).html.add_child(RawHtml(PANEL))
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
    return str(figure_of(fmap).render())
