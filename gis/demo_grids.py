"""Derive the demo hierarchy (区 > 街道 > 社区 > 网格) for Haidian from OpenStreetMap (ODbL).

Roads used: highway = motorway…tertiary (+ _link), unclassified, residential, living_street,
pedestrian and service, because those bound real blocks.  Service roads are kept since without
them the Tsinghua campus is one 3.3 km² block; service=parking_aisle/driveway/drive-through is
dropped (they run inside car parks), as are footways, paths, steps, cycleways and platforms.

Per street (OSM extract): polygonise the roads noded with the bbox outline into blocks that tile
the bbox; chop thin strips (medians < 40 m wide) into ~120 m pieces; merge blocks < 3,000 m², then
< 8,000 m², into the neighbour sharing the longest boundary; halve blocks > 150,000 m² by straight
cuts; merge the smallest while a street has > 60 grids; snap to 1e-7° on shared, re-noded lines.
Communities grow from well-separated named residential compounds and are made contiguous.
Areas and distances use EPSG:4547 (CGCS2000 3-degree GK CM 117E).  Run: python -m gis.demo_grids
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split
from shapely.strtree import STRtree

from gis.codes import number_reading_order

ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
DEFAULT_DATA_DIR = Path(os.environ.get("GRIDGOV_OSM_DATA", "/work/shared/data/beijing-haidian"))
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[1] / "api" / "demo" / "data"

ROAD_CLASSES = frozenset(
    "motorway trunk primary secondary tertiary unclassified residential living_street pedestrian"
    " service motorway_link trunk_link primary_link secondary_link tertiary_link".split()
)
SKIP_SERVICE = frozenset({"parking_aisle", "driveway", "drive-through"})
THIN_M = 40.0  # mean width below which a block is a road median or verge, not a block
STRIP_M = 120.0  # thin strips are chopped to about this length so each piece joins its neighbour
SLIVER_M2 = 3_000.0
MIN_GRID_M2 = 8_000.0
MAX_GRID_M2 = 150_000.0
MAX_GRIDS = 60  # per street; past this the smallest grids keep merging (within MAX_GRID_M2)
GRID_SIZE = 1e-7  # 7 decimals of a degree, about 1 cm
HOUSEHOLD_M2 = 90.0
DEFAULT_LEVELS = 4.0
HOUSING = frozenset({"residential", "apartments", "dormitory", "yes"})

DISTRICT_CODE, DISTRICT_NAME = "110108", "海淀区"
# (extract key, street code, street name, bbox as min lon, min lat, max lon, max lat)
STREETS = [
    ("cau", "110108010", "学院路街道", (116.34403, 39.99767, 116.35974, 40.00888)),
    ("tsinghua", "110108014", "清华园街道", (116.3084, 39.9905, 116.3320, 40.0123)),
]

_FWD = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
_INV = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)


@dataclass
class Unit:
    """One unit of the hierarchy with its lon/lat geometry."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geom: BaseGeometry
    households: int = 0
    officer: str | None = None

    def feature(self) -> dict[str, Any]:
        """GeoJSON feature with a MultiPolygon rounded to 7 decimals."""
        keys = ["code", "name", "level", "parent_code", "households"]
        props = {k: getattr(self, k) for k in keys + (["officer"] if self.officer else [])}
        coords = _round_coords(mapping(as_multi(self.geom))["coordinates"])
        geometry = {"type": "MultiPolygon", "coordinates": coords}
        return {"type": "Feature", "properties": props, "geometry": geometry}


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    """Project a lon/lat geometry to EPSG:4547 metres."""
    return shapely.transform(geom, lambda x, y: _FWD.transform(x, y), interleaved=False)


def to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    """Project an EPSG:4547 geometry back to lon/lat."""
    return shapely.transform(geom, lambda x, y: _INV.transform(x, y), interleaved=False)


def area_m2(geom: BaseGeometry) -> float:
    """Area of a lon/lat geometry in square metres."""
    return float(to_metric(geom).area)


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    """Return the polygons of ``geom`` as a MultiPolygon."""
    return MultiPolygon([p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area])


def _round_coords(obj: Any) -> Any:
    """Round nested coordinate sequences to 7 decimals."""
    if isinstance(obj, (list, tuple)):
        return [_round_coords(v) for v in obj]
    return round(float(obj), 7)


def _faces(noded: BaseGeometry) -> list[BaseGeometry]:
    """Polygonise fully noded linework into its non-empty faces."""
    return [f for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))) if f.area]


def read_roads(osm_path: Path, bbox: Polygon) -> list[BaseGeometry]:
    """Return the block-forming OSM road lines of an extract, clipped to ``bbox``."""
    _meta, _fids, wkb, (highway, other) = pyogrio.raw.read(
        osm_path, layer="lines", columns=["highway", "other_tags"]
    )
    lines = []
    for geom_wkb, hw, tags in zip(wkb, highway, other, strict=True):
        service = re.search(r'"service"=>"([^"]*)"', tags or "")
        if hw not in ROAD_CLASSES or (service and service.group(1) in SKIP_SERVICE):
            continue
        clipped = shapely.from_wkb(geom_wkb).intersection(bbox)
        if not clipped.is_empty:
            lines.append(clipped)
    return lines


def polygonize_blocks(lines: list[BaseGeometry], bbox: Polygon) -> list[BaseGeometry]:
    """Node roads with the bbox outline and polygonise them into blocks tiling the bbox."""
    return _faces(shapely.union_all([*lines, bbox.exterior]))  # the union nodes every crossing


def renode(blocks_m: list[BaseGeometry]) -> list[BaseGeometry]:
    """Re-polygonise metric blocks on 1 mm snap-rounded linework so neighbours share vertices."""
    # a cut ends on a neighbour's edge where it has no vertex; noding adds one so edges match
    return _faces(shapely.union_all([b.boundary for b in blocks_m], grid_size=1e-3))


def _shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    """Length of the boundary two polygons share."""
    return float(a.boundary.intersection(b.boundary).length)


def _halve(poly: BaseGeometry) -> list[BaseGeometry]:
    """Cut a metric polygon into two equal-area parts with a straight line across its long axis."""
    rect = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)
    u = max(rect[1] - rect[0], rect[2] - rect[1], key=lambda e: float(np.hypot(*e)))
    u, n = u / np.hypot(*u), np.array([-u[1], u[0]]) / np.hypot(*u)
    origin = np.asarray(poly.centroid.coords[0])
    proj = (shapely.get_coordinates(poly) - origin) @ u
    reach = float(np.ptp(proj)) + 10.0

    def cut(t: float) -> LineString:
        """Cut line at offset ``t`` along the long axis."""
        return LineString([origin + t * u - reach * n, origin + t * u + reach * n])

    def below(t: float) -> float:
        """Area of the polygon on the low side of the cut at ``t``."""
        half = Polygon([*cut(t).coords, *reversed(cut(t - 2 * reach).coords)])
        return float(poly.intersection(half).area)

    lo, hi = float(proj.min()), float(proj.max())
    for _ in range(40):  # bisection: the area below the cut grows monotonically with t
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if below(mid) < poly.area / 2 else (lo, mid)
    parts = sorted(shapely.get_parts(split(poly, cut((lo + hi) / 2))), key=lambda p: -p.area)
    keep = [p for p in parts if p.area >= 1.0]
    for crumb in parts[len(keep) :]:  # cuts grazing a vertex leave crumbs: give them to a side
        k = max(range(len(keep)), key=lambda j: _shared_length(keep[j], crumb))
        keep[k] = shapely.union_all([keep[k], crumb])
    return keep


def split_while(
    blocks: list[BaseGeometry], too_big: Callable[[BaseGeometry], bool]
) -> list[BaseGeometry]:
    """Halve metric blocks recursively while ``too_big(block)`` holds."""
    out, todo = [], list(blocks)
    while todo:
        block = todo.pop()
        pieces = _halve(block) if too_big(block) else [block]
        if len(pieces) > 1:
            todo.extend(pieces)
        else:
            out.append(block)
    return out


def is_thin_strip(block: BaseGeometry) -> bool:
    """True for a long metric strip narrower than THIN_M (2·area/perimeter is its mean width)."""
    return bool(2 * block.area / block.length < THIN_M and block.length / 2 > STRIP_M)


def merge_small(
    blocks: list[BaseGeometry], min_area: float, cap: float = math.inf, max_count: int = 0
) -> list[BaseGeometry]:
    """Merge metric blocks < ``min_area`` (or while > ``max_count``) into the longest-edge one."""
    # blocks without a usable neighbour, by id; holding them stops their ids being reused
    blocks, stuck = list(blocks), {}
    while True:
        too_many = 0 < max_count < len(blocks)
        small = [k for k, b in enumerate(blocks) if (too_many or b.area < min_area)]
        small = [k for k in small if id(blocks[k]) not in stuck]
        if not small:
            return blocks
        i = min(small, key=lambda k: blocks[k].area)
        near = np.flatnonzero(shapely.intersects(np.array(blocks, dtype=object), blocks[i]))
        scored = [(_shared_length(blocks[i], blocks[j]), int(j)) for j in near if j != i]
        scored = [s for s in scored if s[0] > 0]
        # prefer neighbours that stay under the cap so count-merging never undoes a split
        fitting = [s for s in scored if blocks[s[1]].area + blocks[i].area <= cap]
        if not fitting and blocks[i].area < min_area:
            fitting = scored  # a too-small block must go somewhere even if that breaks the cap
        if not fitting:
            stuck[id(blocks[i])] = blocks[i]
            continue
        j = max(fitting)[1]
        merged = shapely.union_all([blocks[i], blocks[j]])
        blocks = [b for k, b in enumerate(blocks) if k not in (i, j)] + [merged]


def snap_tiling(grids_m: list[BaseGeometry], grid_size: float = GRID_SIZE) -> list[MultiPolygon]:
    """Return metric grids as lon/lat MultiPolygons snapped to ``grid_size`` that still tile."""
    # project and snap the shared linework, not each polygon, so neighbours keep one common edge
    lines = to_lonlat(shapely.union_all([g.boundary for g in grids_m]))
    faces = _faces(shapely.union_all(shapely.get_parts(lines), grid_size=grid_size))
    tree, owned = STRtree(grids_m), [[] for _ in grids_m]  # type: ignore[var-annotated]
    for face in faces:  # each face lies inside exactly one grid: the one at distance 0
        owned[int(tree.query_nearest(to_metric(face.representative_point()))[0])].append(face)
    return [as_multi(shapely.union_all(parts, grid_size=grid_size)) for parts in owned]


def community_name(compound: str) -> str:
    """Turn a compound name into a 社区 name, dropping generic estate suffixes (小区, 生活区…)."""
    stem = re.sub(r"(教师住宅区|住宅区|生活区|小区)$", "", compound)
    return (stem if len(stem) >= 2 else compound) + "社区"


def pick_seeds(
    path: Path, bbox: Polygon, grids_m: list[BaseGeometry], max_seeds: int = 6
) -> list[tuple[str, Point, int]]:
    """Pick well-separated named compounds, largest first, as (name, metric point, grid index)."""
    min_gap = 0.8 * math.sqrt(area_m2(bbox) / max_seeds)  # spacing that fits max_seeds cells
    cands = []
    for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
        inside = to_metric(shape(feat["geometry"]).intersection(bbox))
        if feat["properties"].get("name") and inside.area >= 1_000:
            cands.append((inside.area, feat["properties"]["name"], inside.representative_point()))
    tree, seeds = STRtree(grids_m), []  # type: ignore[var-annotated]
    for _area, name, pt in sorted(cands, key=lambda c: -c[0]):
        grid = int(tree.query_nearest(pt)[0])
        # two seeds in one grid (or too close) would leave a community empty or a sliver
        if len(seeds) < max_seeds and all(
            pt.distance(p) >= min_gap and grid != g for _, p, g in seeds
        ):
            seeds.append((name, pt, grid))
    return seeds


def group_communities(
    grids_m: list[BaseGeometry], seeds: list[Point], anchor: list[int]
) -> list[int]:
    """Give each metric grid the nearest seed's community, then make every group contiguous."""
    owner = [min(range(len(seeds)), key=lambda s: g.centroid.distance(seeds[s])) for g in grids_m]
    for s, k in enumerate(anchor):  # a seed's own grid always stays in its community
        owner[k] = s
    for _ in range(100):  # each pass moves stray grids; the cap only guards against cycling
        changed = False
        for s in range(len(seeds)):
            members = [k for k, o in enumerate(owner) if o == s]
            parts = shapely.get_parts(shapely.union_all([grids_m[k] for k in members]))
            keep = next(p for p in parts if p.contains(grids_m[anchor[s]].representative_point()))
            for k in members:
                if keep.contains(grids_m[k].representative_point()):
                    continue
                length, best = max(
                    (_shared_length(grids_m[k], grids_m[j]), owner[j])
                    for j in range(len(grids_m))
                    if owner[j] != s
                )
                if length > 0:  # inner strays wait until their border neighbours have moved
                    owner[k], changed = best, True
        if not changed:
            break
    return owner


def build_street(
    data_dir: Path, key: str, code: str, name: str, bbox: Polygon
) -> tuple[Unit, list[Unit], list[Unit]]:
    """Build one street with its communities and grids from an OSM extract."""
    blocks = polygonize_blocks(read_roads(data_dir / "osm" / f"{key}_map.osm", bbox), bbox)
    metric = renode(split_while([to_metric(b) for b in blocks], is_thin_strip))
    metric = merge_small(merge_small(metric, SLIVER_M2), MIN_GRID_M2)
    metric = renode(split_while(metric, lambda b: b.area > MAX_GRID_M2))
    grids = snap_tiling(merge_small(metric, MIN_GRID_M2, MAX_GRID_M2, MAX_GRIDS))
    grids_m = [to_metric(g) for g in grids]
    seeds = pick_seeds(data_dir / f"{key}_residential_compounds.geojson", bbox, grids_m)
    owner = group_communities(grids_m, [p for _, p, _ in seeds], [g for *_, g in seeds])
    members = [[g for g, o in zip(grids, owner, strict=True) if o == s] for s in range(len(seeds))]
    shapes = [shapely.union_all(m, grid_size=GRID_SIZE) for m in members]
    # community codes run west→east (ties north→south) by centroid
    order = sorted(range(len(seeds)), key=lambda s: (shapes[s].centroid.x, -shapes[s].centroid.y))
    communities, grid_units = [], []
    for n, s in enumerate(order, start=1):
        c_code, c_name = f"{code}{n:03d}", community_name(seeds[s][0])
        communities.append(Unit(c_code, c_name, "community", code, shapes[s]))
        for rank, g in sorted(zip(number_reading_order(members[s]), members[s], strict=True)):
            g_name = f"{c_name.removesuffix('社区')}第{rank}网格"
            grid_units.append(Unit(f"{c_code}{rank:03d}", g_name, "grid", c_code, g))
    street_shape = shapely.union_all(shapes, grid_size=GRID_SIZE)
    return Unit(code, name, "street", DISTRICT_CODE, street_shape), communities, grid_units


def load_buildings(data_dir: Path) -> list[dict[str, Any]]:
    """Load both building files, tagging each feature with its ``source_file``."""
    feats = []
    for key, *_ in STREETS:
        doc = json.loads((data_dir / f"{key}_buildings.geojson").read_text(encoding="utf-8"))
        for feat in doc["features"]:
            feat["properties"]["source_file"] = key
            feats.append(feat)
    return feats


def estimate_households(grids: list[BaseGeometry], buildings: list[dict[str, Any]]) -> list[int]:
    """Estimate households per lon/lat grid as housing floor area (footprint × levels) / 90 m²."""
    homes, levels = [], []
    for feat in buildings:
        props = feat["properties"]
        if props.get("building") in HOUSING:
            homes.append(to_metric(shape(feat["geometry"])))
            found = re.match(r"\d+(\.\d+)?", str(props.get("building:levels") or ""))
            levels.append(float(found.group()) if found else DEFAULT_LEVELS)  # "5;6" → 5
    tree, result = STRtree(homes), []
    for grid in map(to_metric, grids):
        # footprints split between grids count pro rata, so the totals add up
        floor = sum(homes[k].intersection(grid).area * levels[k] for k in tree.query(grid))
        result.append(round(floor / HOUSEHOLD_M2))
    return result


def write_layer(path: Path, features: list[dict[str, Any]]) -> None:
    """Write a FeatureCollection carrying the ODbL attribution."""
    doc = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "license": "ODbL-1.0"}
    path.write_text(json.dumps({**doc, "features": features}, ensure_ascii=False), "utf-8")


def validate(out_dir: Path) -> list[str]:
    """Re-read the written layers and list validity, overlap, cover and tiling problems."""
    layers = {
        name: json.loads((out_dir / f"{name}.geojson").read_text(encoding="utf-8"))["features"]
        for name in ("districts", "streets", "communities", "grids")
    }
    # overlay in lon/lat, where the edges are straight, and only measure results in metres
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for fs in layers.values() for f in fs}
    up = {
        f["properties"]["code"]: f["properties"]["parent_code"]
        for fs in layers.values()
        for f in fs
    }
    bad = [c for c, g in geoms.items() if not g.is_valid or g.geom_type != "MultiPolygon"]
    problems = [f"{c}: invalid or not a MultiPolygon" for c in bad]
    for upper in list(layers)[:-1]:
        for parent in layers[upper]:
            p_code = parent["properties"]["code"]
            kids = [g for c, g in geoms.items() if up[c] == p_code]
            union = shapely.union_all(kids)
            if not kids or area_m2(union.difference(geoms[p_code])) > 1.0:
                problems.append(f"{p_code}: children missing or not covered by the parent")
            for a, b in zip(*STRtree(kids).query(kids, predicate="intersects"), strict=True):
                if a < b and area_m2(kids[a].intersection(kids[b])) > 1.0:
                    problems.append(f"{p_code}: children {a} and {b} overlap")
            # below the district (which keeps a gap on purpose) children tile the parent exactly
            if upper != "districts" and area_m2(union.symmetric_difference(geoms[p_code])) > 1.0:
                problems.append(f"{p_code}: children do not tile the parent")
    return problems


def write_attribution(out_dir: Path) -> None:
    """Write ATTRIBUTION.md: licence, which layers are real or derived, how to regenerate."""
    text = f"""# Demo data attribution

Map data {ATTRIBUTION}.
These files are a derived database of OpenStreetMap under the Open Database License 1.0
(https://opendatacommons.org/licenses/odbl/1-0/); keep this notice with them. Sources: OSM
extracts around China Agricultural University East Campus / Xueqing Road (data to 2026-03-22)
and Tsinghua University / Wudaokou (data to 2017-06-24), Haidian District, Beijing.

## Real OSM geometry
- `buildings.geojson`: OSM building footprints, unchanged; only `source_file` (cau/tsinghua) added.

## Derived layers (boundaries are NOT official)
- `grids.geojson` (网格): the OSM road network (motorway…tertiary and links, unclassified,
  residential, living_street, pedestrian, service except parking aisles/driveways) polygonised
  into street blocks. Strips under {THIN_M:.0f} m wide are chopped; blocks under
  {SLIVER_M2:,.0f} m², then under {MIN_GRID_M2:,.0f} m², are merged into the neighbour with the
  longest shared boundary; blocks over {MAX_GRID_M2:,.0f} m² are halved by straight cuts; at most
  {MAX_GRIDS} grids per street; coordinates snapped to 1e-7°. `households` is an estimate
  (residential/apartments/dormitory/yes footprint × `building:levels`, default
  {DEFAULT_LEVELS:.0f}, / {HOUSEHOLD_M2:.0f} m²), summed for the upper levels. `officer`
  (网格员 NNN) is a made-up placeholder, not a real person.
- `communities.geojson` (社区): grids grouped around well-separated named OSM
  `landuse=residential` compounds (nearest by centroid, made contiguous), named compound + 社区
  (a generic 小区/生活区/住宅区 suffix dropped). Not the real 社区 of Haidian.
- `streets.geojson` (街道): the two OSM extract outlines. Codes and names (110108010 学院路街道,
  110108014 清华园街道) follow real Haidian subdistricts; the boundaries do not.
- `districts.geojson` (区): 110108 海淀区 as the convex hull of both extracts; the land between the
  two streets belongs to no street on purpose. Codes follow GB/T 2260 style (6+3+3+3 digits).

Regenerate from the repository root with `python -m gis.demo_grids`.
"""
    (out_dir / "ATTRIBUTION.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Build, write, validate and summarise the Haidian demo hierarchy."""
    parser = argparse.ArgumentParser(description="Build the Haidian demo hierarchy from OSM.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    data_dir, out_dir = Path(args.data_dir), Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    hull = shapely.union_all([box(*bounds) for *_, bounds in STREETS]).convex_hull
    district = Unit(DISTRICT_CODE, DISTRICT_NAME, "district", None, hull)
    streets, communities, grids = [], [], []
    for key, code, name, bounds in STREETS:
        street, comms, street_grids = build_street(data_dir, key, code, name, box(*bounds))
        streets.append(street)
        communities += comms
        grids += street_grids
    buildings = load_buildings(data_dir)
    households = estimate_households([g.geom for g in grids], buildings)
    for k, (grid, count) in enumerate(zip(grids, households, strict=True), start=1):
        grid.households, grid.officer = count, f"网格员 {k:03d}"
    for unit in [district, *streets, *communities]:  # codes nest, so a prefix finds descendants
        unit.households = sum(g.households for g in grids if g.code.startswith(unit.code))

    layers = {"districts": [district], "streets": streets, "communities": communities}
    for layer, units in {**layers, "grids": grids}.items():
        write_layer(out_dir / f"{layer}.geojson", [u.feature() for u in units])
    write_layer(out_dir / "buildings.geojson", buildings)
    write_attribution(out_dir)

    counts = {layer: len(units) for layer, units in {**layers, "grids": grids}.items()}
    print(
        ", ".join(f"{layer} {n}" for layer, n in [*counts.items(), ("buildings", len(buildings))])
    )
    for st in streets:
        n_comm, n_grid = (
            sum(u.code.startswith(st.code) for u in us) for us in (communities, grids)
        )
        print(f"  {st.code} {st.name}: {n_comm} communities, {n_grid} grids")
    a = np.array([area_m2(g.geom) for g in grids])
    print(f"grid area m²: min {a.min():,.0f}, median {np.median(a):,.0f}, max {a.max():,.0f}")
    print(f"households total {sum(households):,}")
    problems = validate(out_dir) + [
        f"{st.code}: grids do not tile the extract bbox"
        for st, (*_, bounds) in zip(streets, STREETS, strict=True)
        if area_m2(st.geom.symmetric_difference(box(*bounds))) > 1.0
    ]
    if problems:
        raise SystemExit("validation failed:\n" + "\n".join(problems))
    print(f"validation OK: {out_dir}")


if __name__ == "__main__":
    main()
