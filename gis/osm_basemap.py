"""Read OpenStreetMap files (.osm, .osm.pbf, .osm.gz …) into base map rows with pyosmium.

Each row is (table, osm_id, class, name, WKB): roads, railways and waterways as lines, water,
land use and buildings as (multi)polygons, places and points of interest as points (a named
area such as a university becomes a point in SQL, on its surface). Which tags make which row is
decided here, once; the tables are listed in api.db.models_basemap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import osmium
import osmium.geom

Row = tuple[str, int, str, str | None, str]  # table, osm_id, class, name, hex WKB

ROADS = frozenset(
    "motorway motorway_link trunk trunk_link primary primary_link secondary secondary_link "
    "tertiary tertiary_link unclassified residential living_street service pedestrian road "
    "footway cycleway path steps track".split()
)
RAILWAYS = frozenset("rail subway light_rail tram narrow_gauge monorail".split())
WATERWAYS = frozenset("river stream canal drain ditch".split())
LANDUSE_KEYS = ("leisure", "landuse", "natural", "amenity")
LANDUSE = frozenset(
    "park garden pitch playground stadium golf_course sports_centre nature_reserve "
    "grass forest meadow greenfield village_green recreation_ground cemetery allotments "
    "residential commercial retail industrial construction railway education "
    "wood scrub grassland heath sand beach "
    "university college school hospital".split()
)
WATER_AREAS = {("natural", "water"), ("waterway", "riverbank"), ("landuse", "reservoir"),
               ("landuse", "basin"), ("leisure", "swimming_pool")}  # fmt: skip
POI_KEYS = (
    "amenity",
    "shop",
    "tourism",
    "leisure",
    "office",
    "historic",
    "railway",
    "public_transport",
)
POI_SKIP = frozenset(
    "bench waste_basket bicycle_parking parking_space vending_machine street_lamp "
    "platform stop level_crossing crossing stop_position switch buffer_stop".split()
)
PLACES = frozenset(
    "city district borough suburb quarter neighbourhood town village hamlet locality "
    "isolated_dwelling".split()
)
SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".o5m")


class OsmReadError(Exception):
    """The file is not an OpenStreetMap file this reader can use."""


@dataclass
class ReadStats:
    """What was read: objects seen, rows made, geometries that could not be built."""

    objects: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    broken: int = 0


def _name(tags: osmium.osm.TagList) -> str | None:
    name = tags.get("name:zh") or tags.get("name:zh-Hans") or tags.get("name")
    return name.strip() or None if name else None


def _area_row(area: osmium.osm.Area) -> tuple[str, str] | None:
    """(table, class) for an area, or None when the base map does not draw it."""
    tags = area.tags
    if any(tags.get(k) == v for k, v in WATER_AREAS):
        return "basemap_water", "water"
    if "building" in tags and tags.get("building") != "no":
        return "basemap_buildings", tags.get("building") or "yes"
    for key in LANDUSE_KEYS:
        value = tags.get(key)
        if value in LANDUSE:
            return "basemap_landuse", value
    return None


def _poi_class(tags: osmium.osm.TagList) -> str | None:
    for key in POI_KEYS:
        value = tags.get(key)
        if value and value not in POI_SKIP:
            return value
    return None


def check_path(path: Path) -> None:
    """Refuse a missing file or one whose name does not say OSM (before reading anything)."""
    if not path.is_file():
        raise OsmReadError(f"No such file: {path}")
    if not path.name.lower().endswith(SUFFIXES):
        raise OsmReadError(
            f"Not an OpenStreetMap file: {path.name} (expected {', '.join(SUFFIXES)})"
        )


def read_osm(
    path: Path, stats: ReadStats, tick: Callable[[int], None] | None = None
) -> Iterator[Row]:
    """Rows for the base map from one OSM file; `tick(n)` is called every n objects read."""
    check_path(path)
    wkb = osmium.geom.WKBFactory()
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            stats.objects += 1
            if tick is not None and stats.objects % 10_000 == 0:
                tick(10_000)
            try:
                row = _row(obj, wkb)
            except (osmium.InvalidLocationError, RuntimeError):
                stats.broken += 1  # a way cut by the extract's edge, a ring that does not close
                continue
            if row is not None:
                stats.rows[row[0]] = stats.rows.get(row[0], 0) + 1
                yield row
    except RuntimeError as exc:  # libosmium's parse errors (XML, PBF) arrive as RuntimeError
        raise OsmReadError(f"Cannot read the OSM file {path.name}: {exc}") from exc
    if stats.objects == 0:
        raise OsmReadError(f"No OpenStreetMap data in {path.name}")


def _row(obj: object, wkb: osmium.geom.WKBFactory) -> Row | None:
    if isinstance(obj, osmium.osm.Node):
        tags = obj.tags
        name = _name(tags)
        if name is None:
            return None
        place = tags.get("place")
        if place in PLACES:
            return ("basemap_places", obj.id, place, name, wkb.create_point(obj))
        poi = _poi_class(tags)
        if poi is not None:
            return ("basemap_pois", obj.id, poi, name, wkb.create_point(obj))
        return None
    if isinstance(obj, osmium.osm.Way):
        tags = obj.tags
        for key, table, kinds in (
            ("highway", "basemap_roads", ROADS),
            ("railway", "basemap_railways", RAILWAYS),
            ("waterway", "basemap_waterways", WATERWAYS),
        ):
            value = tags.get(key)
            if value in kinds and tags.get("area") != "yes":
                line = wkb.create_linestring(obj)
                return (table, obj.id, value, _name(tags), line)
        return None
    if isinstance(obj, osmium.osm.Area):
        kind = _area_row(obj)
        osm_id = obj.orig_id() if obj.from_way() else -obj.orig_id()
        if kind is None:
            poi = _poi_class(obj.tags)
            name = _name(obj.tags)
            if poi is None or name is None:
                return None
            kind = ("basemap_pois", poi)  # drawn as a point: made from the polygon in SQL
        table, cls = kind
        return (table, osm_id, cls, _name(obj.tags), wkb.create_multipolygon(obj))
    return None
