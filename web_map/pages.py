"""Page builders: folium maps whose scripts, styles and images are all served by GridGov itself.

Folium's defaults point at CDNs (Leaflet, jQuery, Bootstrap, awesome-markers…). Government
intranets are offline, so every page replaces them per map with the files vendored under
`static/vendor/` and adds GridGov's own `gridgov.js`/`gridgov.css`. The page's data comes from the
API at run time (fetched by gridgov.js); nothing here touches the database.

A page hands its settings to gridgov.js in a `<script type="application/json" id="gridgov-config">`
block (data, not code), so the only executable inline script is what folium emits.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from api.settings import AREA_PAGE_MAX, MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.templating import render

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/static"
API_ROOT = "/api/v1"

# Only what the pages use: Leaflet itself and our own files; no jQuery, Bootstrap or icon fonts.
LOCAL_JS = [
    ("leaflet", f"{STATIC_URL}/vendor/leaflet/leaflet.js"),
    ("gridgov", f"{STATIC_URL}/gridgov.js"),
    ("basemap", f"{STATIC_URL}/basemap.js"),  # the base map / plain ground switch
]
LOCAL_CSS = [
    ("leaflet_css", f"{STATIC_URL}/vendor/leaflet/leaflet.css"),
    ("gridgov_css", f"{STATIC_URL}/gridgov.css"),
    ("shell_css", f"{STATIC_URL}/shell.css"),
]
FAVICON = f"{STATIC_URL}/favicon.svg"


def page_js(*names: str) -> list[tuple[str, str]]:
    """A page's scripts: LOCAL_JS, then our own static/<name>.js in the order given."""
    return [*LOCAL_JS, *((name, f"{STATIC_URL}/{name}.js") for name in names)]


# Leaflet.VectorGrid (bundled with its pbf decoder) draws /tiles/… vector tiles on canvas, for
# layers too big to send as GeoJSON (10,000 grids, 100,000 buildings). Must load after leaflet.js.
VECTORGRID_JS = (
    "vectorgrid",
    f"{STATIC_URL}/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
)
TILES_URL = "/tiles"
BUILDINGS_MIN_ZOOM = 15  # below this a tile would hold thousands of unreadable footprints

DEFAULT_CENTRE = (39.99, 116.33)  # Beijing, Haidian district
DEFAULT_ZOOM = 11
BASEMAP_FALLBACK_ATTRIBUTION = N_("Base map")
# GridGov's own base map (api/routers/interop/basemap.py), drawn from OpenStreetMap data.
OWN_BASEMAP_URL = "/basemap/{z}/{x}/{y}.png"
OWN_BASEMAP_ATTRIBUTION = "© OpenStreetMap contributors"
OWN_BASEMAP_MAX_ZOOM = 20  # GRIDGOV_BASEMAP_MAX_ZOOM's default; Leaflet enlarges zoom 20 beyond
BASEMAP_TEXT = {"switch": N_("Base map"), "title": N_("Base map or plain ground")}


@dataclass(frozen=True)
class AreaLevel:
    """How one level of the area hierarchy is named and drawn on every page."""

    level: str
    en: str
    count: str  # "{n} grids": how a page says how many there are
    color: str
    weight: float
    fill_opacity: float
    z_index: int
    dash: str | None = None

    def label(self, tr: Translator) -> str:
        """The level's name in `tr`'s language, e.g. "网格"."""
        return tr(self.en)

    @property
    def pane(self) -> str:
        """Leaflet pane name: one pane per level keeps grids above districts whatever is toggled."""
        return f"gridgov-{self.level}"


AREA_LEVELS: tuple[AreaLevel, ...] = (
    AreaLevel("district", N_("District"), N_("{n} districts"), "#6a3d9a", 3.0, 0.03, 410),
    AreaLevel("street", N_("Street"), N_("{n} streets"), "#1f78b4", 2.5, 0.03, 420),
    AreaLevel(
        "community", N_("Community"), N_("{n} communities"), "#33a02c", 1.8, 0.04, 430, "6 4"
    ),
    AreaLevel("grid", N_("Grid"), N_("{n} grids"), "#e6550d", 1.2, 0.10, 440),
)


class RawHtml(Element):
    """Markup placed into the page as written (fixed markup, never user data)."""

    def __init__(self, markup: str) -> None:
        super().__init__("{{ this.markup }}")
        self.markup = markup


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's `control_scale` adds miles)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element (no '</script>' or '<!--' can appear)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_of(fmap: folium.Map) -> Figure:
    """The HTML document (branca Figure) a folium map renders into."""
    root = fmap.get_root()
    if not isinstance(root, Figure):
        raise TypeError("a page's map must be the child of a Figure")
    return root


def base_map(
    settings: MapSettings,
    tr: Translator = CHINESE,
    *,
    title: str,
    shell: str = "",
    location: tuple[float, float] = DEFAULT_CENTRE,
    zoom: int = DEFAULT_ZOOM,
) -> folium.Map:
    """A folium map that loads only local assets, on GridGov's base map or the configured one.

    `title` is an English message id; the page gets it, its catalogue and `shell` (the shared
    header) in `tr`'s language.
    """
    fmap = folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        control_scale=False,  # folium's would add miles and feet: MetricScale below
        prefer_canvas=False,  # SVG paths: one DOM node per area, styleable and testable
    )
    # Per instance: folium's class-level lists are shared, and its add_*_link mutates in place.
    fmap.default_js = list(LOCAL_JS)
    fmap.default_css = list(LOCAL_CSS)
    # An XYZ URL template (intranet tile server, Tianditu with key…) overrides GridGov's own base
    # map. Note folium resolves a bare provider name such as "OpenStreetMap" to that provider's
    # internet URL.
    own = not settings.basemap_url
    tiles = folium.TileLayer(
        tiles=OWN_BASEMAP_URL if own else settings.basemap_url,
        attr=OWN_BASEMAP_ATTRIBUTION
        if own
        else settings.basemap_attribution or tr(BASEMAP_FALLBACK_ATTRIBUTION),
        name=tr(BASEMAP_FALLBACK_ATTRIBUTION),
        control=False,
        # Leaflet takes the map's zoom range from its layers: without these the base map would
        # stop every page at 18, where the console and the editor go to 20 and beyond.
        max_zoom=OWN_BASEMAP_MAX_ZOOM + 2,
        max_native_zoom=OWN_BASEMAP_MAX_ZOOM if own else 18,
    )
    tiles.add_to(fmap)
    MetricScale().add_to(fmap)
    words = {k: tr(v) for k, v in BASEMAP_TEXT.items()}
    switch = {"map": fmap.get_name(), "layer": tiles.get_name(), "own": own, **words}
    figure_of(fmap).html.add_child(
        RawHtml(
            '<script type="application/json" id="gridgov-basemap">'
            f"{json_for_script(switch)}</script>"
        )
    )
    figure = figure_of(fmap)
    # branca writes the title into <title> unescaped
    figure.title = html.escape(f"{tr(title)} · {tr('GridGov')}")
    figure.header.add_child(RawHtml(f'<link rel="icon" href="{FAVICON}" type="image/svg+xml">'))
    # Before the scripts (header children come first): gridgov.js's t() reads it as it loads.
    catalogue = json_for_script(tr.for_page())
    figure.header.add_child(
        RawHtml(f'<script type="application/json" id="gridgov-i18n">{catalogue}</script>')
    )
    if shell:
        figure.html.add_child(RawHtml(shell))
    fmap.gridgov_lang = tr.html_lang  # type: ignore[attr-defined]
    return fmap


def render_page(fmap: folium.Map) -> str:
    """The page's HTML, its <html> element carrying the page's language."""
    markup = str(figure_of(fmap).render())
    lang = getattr(fmap, "gridgov_lang", "zh-CN")
    return markup.replace("<html>", f'<html lang="{lang}">', 1)


def add_page_config(fmap: folium.Map, config: dict[str, Any]) -> None:
    """Hand the page's settings to gridgov.js as a JSON data block (not executable)."""
    # areaPage: how many areas the page asks for at once (GET /api/v1/areas takes that many)
    payload = {"map": fmap.get_name(), "api": API_ROOT, "areaPage": AREA_PAGE_MAX, **config}
    block = (
        f'<script type="application/json" id="gridgov-config">{json_for_script(payload)}</script>'
    )
    figure_of(fmap).html.add_child(RawHtml(block))


@dataclass(frozen=True)
class Panel:
    """What a one-panel page is made of: its title (a catalogue id), its scripts (`page_js`),
    the template of its panel's markup, and whether it shows the grid layer."""

    title: str
    js: list[tuple[str, str]]
    template: str
    grids: bool = False


def panel_page(
    settings: MapSettings, tr: Translator, panel: Panel, *, shell: str, config: dict[str, Any]
) -> str:
    """A map with one panel (the residents' and the patrol pages): the base map, the panel's
    scripts and markup and the page config; a panel with `grids` adds the grid layer (its levels
    go into the config after "page"). The page's HTML."""
    fmap = base_map(settings, tr, title=panel.title, shell=shell)
    fmap.default_js = list(panel.js)
    if panel.grids:
        levels = area_layers(fmap, only=("grid",), tr=tr, labels=settings.level_labels)
        config = {"page": config["page"], "levels": levels, **config}
    figure_of(fmap).html.add_child(RawHtml(render(panel.template, tr)))
    add_page_config(fmap, config)
    return render_page(fmap)


def area_layers(
    fmap: folium.Map,
    only: tuple[str, ...] | None = None,
    *,
    tr: Translator = CHINESE,
    tiles: bool = False,
    labels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One pane and one (initially empty) overlay per level; gridgov.js fills them from the API.

    `only` keeps just the named levels (e.g. ("grid",) on the dispatch console). With `tiles`
    each level carries a vector-tile URL and is drawn from /tiles (needs `with_vectorgrid`).
    `labels` renames levels (GRIDGOV_LEVEL_LABELS: 县/乡镇/村/村民小组 for rural areas).
    """
    levels = []
    for lvl in AREA_LEVELS:
        if only is not None and lvl.level not in only:
            continue
        folium.map.CustomPane(lvl.pane, z_index=lvl.z_index, pointer_events=True).add_to(fmap)
        custom = (labels or {}).get(lvl.level)
        label = custom or lvl.label(tr)
        group = folium.FeatureGroup(name=label, overlay=True, control=True, show=True)
        group.add_to(fmap)
        levels.append(
            {
                "level": lvl.level,
                "label": label,
                "count": f"{custom} {{n}}" if custom else tr(lvl.count),
                "layer": group.get_name(),
                "pane": lvl.pane,
                "style": {
                    "color": lvl.color,
                    "weight": lvl.weight,
                    "fillColor": lvl.color,
                    "fillOpacity": lvl.fill_opacity,
                    "dashArray": lvl.dash,
                },
            }
        )
        if tiles:
            levels[-1]["tiles"] = (
                f"{TILES_URL}/grids/{{z}}/{{x}}/{{y}}.pbf"
                if lvl.level == "grid"
                else f"{TILES_URL}/areas/{{z}}/{{x}}/{{y}}.pbf?level={lvl.level}"
            )
    return levels


def with_vectorgrid(js: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A page's script list with Leaflet.VectorGrid right after leaflet.js."""
    out: list[tuple[str, str]] = []
    for entry in js:
        out.append(entry)
        if entry[0] == "leaflet":
            out.append(VECTORGRID_JS)
    return out


def building_layer(fmap: folium.Map, tr: Translator = CHINESE) -> dict[str, Any]:
    """A pane and overlay for building footprints drawn from /tiles/buildings (zoom ≥ 15).

    Drawn above the grids but not interactive: a canvas layer on top would swallow the hover
    and click meant for the grid beneath it.
    """
    pane = "gridgov-building"
    folium.map.CustomPane(pane, z_index=445, pointer_events=False).add_to(fmap)
    group = folium.FeatureGroup(name=tr("Buildings"), overlay=True, control=True, show=True)
    group.add_to(fmap)
    return {
        "layer": group.get_name(),
        "pane": pane,
        "tiles": f"{TILES_URL}/buildings/{{z}}/{{x}}/{{y}}.pbf",
        "min_zoom": BUILDINGS_MIN_ZOOM,
        "style": {"color": "#7f7f7f", "weight": 0.8, "fillColor": "#bdbdbd", "fillOpacity": 0.35},
    }


def overview_page(settings: MapSettings, tr: Translator = CHINESE, *, shell: str = "") -> str:
    """The overview map: all area levels as toggleable layers; a click tells who is responsible."""
    fmap = base_map(settings, tr, title=N_("Overview"), shell=shell)
    levels = area_layers(fmap, tr=tr, labels=settings.level_labels)
    folium.LayerControl(position="topright", collapsed=False).add_to(fmap)
    figure_of(fmap).html.add_child(RawHtml(render("overview.html", tr)))
    add_page_config(fmap, {"page": "overview", "levels": levels})
    return render_page(fmap)


class _References(HTMLParser):
    """Collects the URLs a page makes the browser load (script src, link href, img src)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def page_references(markup: str) -> list[str]:
    """Every URL the page's markup loads, in document order."""
    parser = _References()
    parser.feed(markup)
    return parser.urls
