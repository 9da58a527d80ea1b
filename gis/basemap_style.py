"""The base map's Mapnik style: quiet greys, blue water, a road hierarchy, Chinese labels.

Built as Mapnik XML from the database connection, each layer a fixed query on one base map
table (Mapnik fills in `!bbox!`, the tile's box in EPSG:4326). Zoom bands are Mapnik scale
denominators of 256-pixel Web Mercator tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

MERCATOR = "epsg:3857"
WGS84 = "epsg:4326"
LABEL_FONT = ("Noto Sans CJK SC Regular", "DejaVu Sans Book")  # CJK first; DejaVu for the rest
BOLD_FONT = ("Noto Sans CJK SC Bold", "DejaVu Sans Bold")
BACKGROUND = "#f4f3f0"
TEXT = "#4d4d4d"
WATER = "#aecde3"
MAX_ZOOM = 22


def scale(z: float) -> float:
    """The scale denominator Mapnik computes at zoom z (256 px tiles, 0.28 mm pixels)."""
    return 559082264.028 / 2**z


def _zoom(lo: float, hi: float | None = None) -> str:
    """Rule bounds for zooms lo … hi (inclusive), with a half-zoom margin against rounding."""
    out = f"<MaxScaleDenominator>{scale(lo - 0.5):.2f}</MaxScaleDenominator>"
    if hi is not None:
        out += f"<MinScaleDenominator>{scale(hi + 0.5):.2f}</MinScaleDenominator>"
    return out


@dataclass(frozen=True)
class RoadGroup:
    """Road classes drawn alike: colours and the fill width (px) per zoom from `minzoom`."""

    classes: tuple[str, ...]
    fill: str
    casing: str
    minzoom: int
    widths: tuple[float, ...]  # for zooms minzoom, minzoom+1, …; the last one repeats
    dash: str | None = None


ROAD_GROUPS = (  # drawn in this order: the bigger roads over the smaller
    RoadGroup(("footway", "cycleway", "path", "steps", "track", "pedestrian"), "#ffffff",
              "#c9c6c0", 16, (1.0, 1.4, 2.0), dash="3,2"),
    RoadGroup(("service", "living_street"), "#ffffff", "#d2cfca", 15, (1.2, 2.2, 3.5, 6.0)),
    RoadGroup(("residential", "unclassified", "road", "tertiary", "tertiary_link"), "#ffffff",
              "#c4c0ba", 13, (1.2, 2.4, 3.6, 5.5, 8.5, 12.0)),
    RoadGroup(("secondary", "secondary_link", "primary", "primary_link"), "#fffdf6", "#b9b3a8",
              11, (1.2, 1.6, 2.4, 3.6, 5.0, 7.0, 10.0, 14.0)),
    RoadGroup(("motorway", "motorway_link", "trunk", "trunk_link"), "#f7ecd2", "#c7b58e", 10,
              (1.4, 1.8, 2.6, 3.4, 4.6, 6.0, 8.5, 11.5, 16.0)),
)  # fmt: skip


def _classes(classes: tuple[str, ...] | frozenset[str]) -> str:
    return " or ".join(f"[class] = '{c}'" for c in sorted(classes))


def _rule(kind: str, zoom: str, symbolizers: str, where: str | None = None) -> str:
    """A rule for features of one kind (the `kind` column of the layer's query)."""
    cond = f"[kind] = '{kind}'" + (f" and ({where})" if where else "")
    return f"<Rule>{zoom}<Filter>{escape(cond)}</Filter>{symbolizers}</Rule>"


def _road_rules(casing: bool) -> str:
    rules = []
    for g in ROAD_GROUPS:
        for i, z in enumerate(range(g.minzoom, MAX_ZOOM + 1)):
            w = g.widths[min(i, len(g.widths) - 1)]
            hi = None if i >= len(g.widths) - 1 else z
            if casing and g.dash is None:
                sym = (
                    f'<LineSymbolizer stroke="{g.casing}" stroke-width="{w + 1.6:.1f}" '
                    'stroke-linecap="round" stroke-linejoin="round"/>'
                )
            elif casing:
                continue
            else:
                dash = f' stroke-dasharray="{g.dash}"' if g.dash else ""
                color = g.casing if g.dash else g.fill
                sym = (
                    f'<LineSymbolizer stroke="{color}" stroke-width="{w:.1f}"{dash} '
                    'stroke-linecap="round" stroke-linejoin="round"/>'
                )
            rules.append(_rule("road", _zoom(z, hi), sym, _classes(g.classes)))
            if hi is None:
                break
    return "".join(rules)


def _fontset(name: str, faces: tuple[str, ...]) -> str:
    inner = "".join(f'<Font face-name="{f}"/>' for f in faces)
    return f'<FontSet name="{name}">{inner}</FontSet>'


def _text(
    size: float, fill: str, *, halo: float = 1.6, extra: str = "", font: str = "regular"
) -> str:
    return (
        f'<TextSymbolizer fontset-name="{font}" size="{size}" fill="{fill}" halo-fill="#ffffff" '
        f'halo-radius="{halo}" wrap-width="80" {extra}>[name]</TextSymbolizer>'
    )


GREEN = frozenset(
    "park garden grass forest wood meadow scrub grassland village_green recreation_ground "
    "greenfield nature_reserve golf_course cemetery allotments heath".split()
)
SPORTS = frozenset("pitch stadium sports_centre playground".split())
LINE_LABEL = 'placement="line" max-char-angle-delta="30" '

# Styles in drawing order within their layer; each rule picks its features by `kind`.
STYLES = {
    "landuse": (
        _rule("landuse", _zoom(12), '<PolygonSymbolizer fill="#ecebe7"/>',
              f"not ({_classes(GREEN | SPORTS)})")
        + _rule("landuse", _zoom(10), '<PolygonSymbolizer fill="#dde8d3"/>', _classes(GREEN))
        + _rule("landuse", _zoom(13), '<PolygonSymbolizer fill="#e3ebdc"/>'
                '<LineSymbolizer stroke="#cddbc1" stroke-width="0.6"/>', _classes(SPORTS))
    ),
    "water": _rule("water", _zoom(8), f'<PolygonSymbolizer fill="{WATER}"/>'),
    "buildings": _rule("building", _zoom(15), '<PolygonSymbolizer fill="#e2dfda"/>'
                       '<LineSymbolizer stroke="#cfcbc4" stroke-width="0.5"/>'),
    "waterways": (
        _rule("waterway", _zoom(12, 14), f'<LineSymbolizer stroke="{WATER}" stroke-width="1.2"/>')
        + _rule("waterway", _zoom(15), f'<LineSymbolizer stroke="{WATER}" stroke-width="3"/>')
    ),
    "railways": _rule("railway", _zoom(12), '<LineSymbolizer stroke="#a3a3a3" stroke-width="2.6"/>'
                      '<LineSymbolizer stroke="#ffffff" stroke-width="1.2" '
                      'stroke-dasharray="5,5"/>'),
    "casing": _road_rules(casing=True),
    "roads": _road_rules(casing=False),
    "places": _rule("place", _zoom(10, 15), _text(14, "#333333", halo=2, font="bold")),
    "road_labels": (
        _rule("road", _zoom(13, 14), _text(11, TEXT, extra=LINE_LABEL + 'spacing="400" '
              'minimum-distance="60"'), "[rank] >= 3")
        + _rule("road", _zoom(15), _text(12, TEXT, extra=LINE_LABEL + 'spacing="300" '
                'minimum-distance="40"'), "[rank] >= 1")
    ),
    "pois": _rule("poi", _zoom(16), _text(10, "#6f6f6f", extra='minimum-distance="20"')),
    "building_labels": _rule("building", _zoom(17), _text(10, "#7a7670",
                             extra='placement="interior"')),
}  # fmt: skip

# Road rank for labels: 0 paths, 1 service, 2 minor, 3 secondary/primary, 4 motorway/trunk.
RANK = " ".join(
    f"WHEN class IN ({', '.join(repr(c) for c in g.classes)}) THEN {i}"
    for i, g in enumerate(ROAD_GROUPS)
)
# Below these zooms a kind is not drawn, so its rows are not read (Mapnik substitutes
# !scale_denominator! with the render's scale): the bigger tiles stay cheap.
SHOWN_FROM = {"building": scale(14.5), "poi": scale(15.5), "minor": scale(12.5)}

# Three layers, three queries per tile (one round trip each): areas, lines, labels. Each reads
# only rows meeting the tile (`!bbox!`), in the order they are drawn. (These are Mapnik's
# queries, fixed text: no value from outside goes into them, hence the S608 waivers.)
LAYERS = (
    ("areas", ("landuse", "water", "buildings"),
     "SELECT geom, 'landuse' AS kind, class FROM basemap_landuse WHERE geom && !bbox! "  # noqa: S608
     "UNION ALL SELECT geom, 'water', class FROM basemap_water WHERE geom && !bbox! "
     "UNION ALL SELECT geom, 'building', class FROM basemap_buildings WHERE geom && !bbox! "
     f"AND !scale_denominator! < {SHOWN_FROM['building']:.0f}"),
    ("lines", ("waterways", "railways", "casing", "roads"),
     "SELECT * FROM (SELECT geom, 'road' AS kind, class, CASE " + RANK + " END AS rank "  # noqa: S608
     "FROM basemap_roads WHERE geom && !bbox! "
     f"AND (!scale_denominator! < {SHOWN_FROM['minor']:.0f} OR class IN ('motorway', "
     "'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link', 'secondary', "
     "'secondary_link')) "
     "UNION ALL SELECT geom, 'waterway', class, 0 FROM basemap_waterways WHERE geom && !bbox! "
     "UNION ALL SELECT geom, 'railway', class, 0 FROM basemap_railways WHERE geom && !bbox!) l "
     "ORDER BY rank"),
    # Segments of one named road are merged so its name is placed along the whole road.
    ("labels", ("places", "road_labels", "pois", "building_labels"),
     "SELECT geom, 'place' AS kind, name, 0 AS rank FROM basemap_places WHERE geom && !bbox! "  # noqa: S608
     "UNION ALL SELECT * FROM (SELECT ST_LineMerge(ST_Collect(geom)), 'road', name, "
     "max(CASE " + RANK + " END) FROM basemap_roads WHERE geom && !bbox! AND name IS NOT NULL "  # noqa: S608
     "GROUP BY name ORDER BY 4 DESC) r "
     "UNION ALL SELECT geom, 'poi', name, 0 FROM basemap_pois WHERE geom && !bbox! "
     f"AND name IS NOT NULL AND !scale_denominator! < {SHOWN_FROM['poi']:.0f} "
     "UNION ALL SELECT geom, 'building', name, 0 FROM basemap_buildings WHERE geom && !bbox! "
     f"AND name IS NOT NULL AND !scale_denominator! < {SHOWN_FROM['poi']:.0f}"),
)  # fmt: skip


def mapnik_xml(conn: dict[str, str], buffer_px: int = 128) -> str:
    """The whole Mapnik map: fonts, styles and PostGIS layers reading `conn` (libpq params)."""
    params = "".join(
        f"<Parameter name={quoteattr(k)}>{escape(v)}</Parameter>"
        for k, v in conn.items()
        if k in {"host", "port", "user", "password", "dbname"}
    )
    styles = "".join(f'<Style name="{n}">{rules}</Style>' for n, rules in STYLES.items())
    layers = []
    for name, style_names, query in LAYERS:
        refs = "".join(f"<StyleName>{s}</StyleName>" for s in style_names)
        layers.append(
            f'<Layer name="{name}" srs="{WGS84}">{refs}<Datasource>'
            '<Parameter name="type">postgis</Parameter>'
            f"{params}"
            f'<Parameter name="table">{escape(f"({query}) AS t")}</Parameter>'
            '<Parameter name="geometry_field">geom</Parameter>'
            '<Parameter name="srid">4326</Parameter>'
            '<Parameter name="extent">-180,-85.0511,180,85.0511</Parameter>'
            '<Parameter name="estimate_extent">false</Parameter>'
            '<Parameter name="max_size">4</Parameter>'
            "</Datasource></Layer>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Map srs="{MERCATOR}" background-color="{BACKGROUND}" buffer-size="{buffer_px}">'
        + _fontset("regular", LABEL_FONT)
        + _fontset("bold", BOLD_FONT)
        + styles
        + "".join(layers)
        + "</Map>"
    )
