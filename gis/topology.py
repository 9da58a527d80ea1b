"""Topology of governance areas: validity, containment in the parent, sibling overlaps, gaps.

Pure geometry (Shapely/GEOS and pyproj); callers fetch the areas and decide what to store.
Relations are computed on the stored lon/lat coordinates, so an edge two areas share exactly stays
shared; sizes are measured in metres: geodesic areas on the WGS 84 ellipsoid, and a local Lambert
azimuthal equal-area projection for the parent-containment tolerance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, mapping
from shapely.geometry import shape as geojson_shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_geometry

from gis.errors import InvalidGeometry, TopologyError

GEOD = Geod(ellps="WGS84")
KIND_ORDER = ("invalid_geometry", "outside_parent", "overlap", "gap")
# Gap pieces "touch" a child closer than this (degrees, ~1 mm): float noise of shared edges.
TOUCH_DEG = 1e-8

Coded = tuple[str, BaseGeometry]


@dataclass
class Problem:
    """One topology problem: what kind, which areas, where, and how large."""

    kind: str
    codes: list[str]
    geometry: BaseGeometry
    area_m2: float | None
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def feature(self) -> dict[str, Any]:
        """The problem as a GeoJSON Feature (properties: kind, codes, area_m2, message …)."""
        props = {
            "kind": self.kind,
            "codes": self.codes,
            "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
            "message": self.message,
            **self.extra,
        }
        return {"type": "Feature", "geometry": mapping(self.geometry), "properties": props}


def feature_collection(problems: list[Problem]) -> dict[str, Any]:
    """Problems as a GeoJSON FeatureCollection, in a stable order."""
    ordered = sorted(
        problems, key=lambda p: (KIND_ORDER.index(p.kind), p.codes, -(p.area_m2 or 0.0))
    )
    return {"type": "FeatureCollection", "features": [p.feature() for p in ordered]}


def polygons(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons inside any geometry (collections are flattened)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [p for g in getattr(geom, "geoms", []) for p in polygons(g)]


def area_m2(geom: BaseGeometry) -> float:
    """Geodesic area in square metres of the polygonal part of a lon/lat geometry."""
    return sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in polygons(geom))


@lru_cache(maxsize=64)
def _local_projection(lon0: float, lat0: float) -> Transformer:
    return Transformer.from_crs(
        "EPSG:4326",
        f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs",
        always_xy=True,
    )


def to_metres(geom: BaseGeometry, around: BaseGeometry) -> BaseGeometry:
    """`geom` in an equal-area projection centred on `around` (metres, tiny distortion nearby)."""
    c = around.envelope.centroid
    # rounded so neighbouring checks share one cached transformer
    tr = _local_projection(round(c.x, 2), round(c.y, 2))
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def parse_area_geometry(doc: Any, code: str | None = None) -> MultiPolygon:
    """A GeoJSON Polygon/MultiPolygon as a valid 2-D MultiPolygon, or a clear 422."""
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            "An area's geometry must be a GeoJSON Polygon or MultiPolygon "
            f"(got {kind or type(doc).__name__}).",
            {"type": kind},
        )
    try:
        geom = shapely.force_2d(geojson_shape(doc))
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as e:
        raise InvalidGeometry(f"The geometry cannot be read: {e}.", {"type": kind}) from e
    if geom.is_empty:
        raise InvalidGeometry("The geometry is empty.", {"type": kind})
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise InvalidGeometry(
            "Coordinates must be longitude, latitude in degrees (EPSG:4326): longitude within "
            "-180..180 and latitude within -90..90.",
            {"type": kind},
        )
    problem = validity_problem(geom, code)
    if problem is not None:
        raise TopologyError(problem.message, {"problems": feature_collection([problem])})
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


_REASON = re.compile(r"^(?P<text>.*?)\[(?P<x>[-+0-9.eE]+) (?P<y>[-+0-9.eE]+)\]$")


def validity_problem(geom: BaseGeometry, code: str | None = None) -> Problem | None:
    """Why a polygon is invalid and where (GEOS's reason and location), or None when valid."""
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return None
    m = _REASON.match(reason or "")
    text = m["text"] if m else (reason or "invalid")
    where = Point(float(m["x"]), float(m["y"])) if m else geom.envelope.centroid
    return Problem(
        "invalid_geometry",
        [code] if code else [],
        where,
        None,
        f"The polygon is not valid: {text} at lon {where.x:.7f}, lat {where.y:.7f}.",
        {"reason": text, "location": [where.x, where.y]},
    )


def outside_parent(
    child: Coded, parent: Coded, tolerance_m: float, epsilon_m2: float
) -> Problem | None:
    """The pieces of `child` lying outside `parent` by more than `tolerance_m`, if any."""
    (code, geom), (parent_code, parent_geom) = child, parent
    outside = [p for p in polygons(geom.difference(parent_geom)) if area_m2(p) > epsilon_m2]
    if not outside:
        return None
    pieces = MultiPolygon(outside)
    here = to_metres(pieces, parent_geom)
    # Only the part of the parent near the pieces matters for the tolerance band.
    x0, y0, x1, y1 = here.bounds
    pad = tolerance_m + 1.0
    near = shapely.clip_by_rect(
        to_metres(parent_geom, parent_geom), x0 - pad, y0 - pad, x1 + pad, y1 + pad
    )
    allowed = near.buffer(tolerance_m) if tolerance_m > 0 else near
    if here.difference(allowed).area <= epsilon_m2:
        return None
    size = area_m2(pieces)
    return Problem(
        "outside_parent",
        [code, parent_code],
        pieces,
        size,
        f"Area {code} reaches {size:,.1f} m² outside its parent {parent_code} "
        f"(more than {tolerance_m:g} m beyond its edge).",
        {"parent": parent_code},
    )


def overlaps(area: Coded, siblings: list[Coded], epsilon_m2: float) -> list[Problem]:
    """Where `area` overlaps each sibling by more than `epsilon_m2` (float noise ignored)."""
    code, geom = area
    found = []
    for sib_code, sib in siblings:
        if sib_code == code or not geom.intersects(sib):
            continue
        shared = [p for p in polygons(geom.intersection(sib)) if not p.is_empty]
        size = area_m2(MultiPolygon(shared)) if shared else 0.0
        if size > epsilon_m2:
            found.append(
                Problem(
                    "overlap",
                    sorted([code, sib_code]),
                    MultiPolygon(shared),
                    size,
                    f"Areas {code} and {sib_code} overlap by {size:,.1f} m².",
                    {"sibling": sib_code},
                )
            )
    return found


def placement_problems(
    area: Coded,
    *,
    parent: Coded | None,
    siblings: list[Coded],
    children: list[Coded],
    tolerance_m: float,
    epsilon_m2: float,
) -> list[Problem]:
    """Errors of one proposed area: outside its parent, its children outside it, overlaps."""
    found: list[Problem] = []
    if parent is not None:
        p = outside_parent(area, parent, tolerance_m, epsilon_m2)
        found += [p] if p else []
    for child in children:
        p = outside_parent(child, area, tolerance_m, epsilon_m2)
        found += [p] if p else []
    return found + overlaps(area, siblings, epsilon_m2)


def gaps(parent: Coded, children: list[Coded], epsilon_m2: float) -> list[Problem]:
    """Pieces of `parent` that no child covers, each with the children bordering it."""
    parent_code, parent_geom = parent
    if not children:
        return []
    covered = shapely.union_all([g for _, g in children])
    found = []
    for piece in polygons(parent_geom.difference(covered)):
        size = area_m2(piece)
        if size <= epsilon_m2:
            continue
        near = sorted(c for c, g in children if shapely.dwithin(g, piece, TOUCH_DEG))
        found.append(
            Problem(
                "gap",
                [parent_code, *near],
                piece,
                size,
                f"{size:,.1f} m² of {parent_code} belong to none of its children.",
                {"parent": parent_code},
            )
        )
    return found


def coverage_problems(
    parent: Coded, children: list[Coded], tolerance_m: float, epsilon_m2: float
) -> list[Problem]:
    """Gaps, sibling overlaps and outside-parent pieces of one parent's children."""
    found: list[Problem] = []
    for child in children:
        p = outside_parent(child, parent, tolerance_m, epsilon_m2)
        found += [p] if p else []
    tree = shapely.STRtree([g for _, g in children])
    left, right = tree.query([g for _, g in children], predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            for p in overlaps(children[i], [children[j]], epsilon_m2):
                p.extra = {}
                found.append(p)
    return found + gaps(parent, children, epsilon_m2)


@dataclass
class SnapReport:
    """What `snap_to_neighbours` removed, in m²."""

    area_removed_m2: float
    outside_parent_m2: float
    siblings: dict[str, float]

    def as_json(self) -> dict[str, Any]:
        """The `fix` member of a save response."""
        return {
            "fix": "snap",
            "area_removed_m2": round(self.area_removed_m2, 2),
            "outside_parent_m2": round(self.outside_parent_m2, 2),
            "siblings_m2": {k: round(v, 2) for k, v in sorted(self.siblings.items())},
        }


def snap_to_neighbours(
    geom: MultiPolygon, parent: BaseGeometry | None, siblings: list[Coded], epsilon_m2: float
) -> tuple[MultiPolygon, SnapReport]:
    """Clip to the parent and subtract the siblings that overlap it by more than `epsilon_m2`.

    An edge that overlaps nothing is left exactly as it is (no overlay noise, no new vertices):
    a shape without real overlaps comes back as the very same object."""
    before = area_m2(geom)
    out: BaseGeometry = geom
    outside = 0.0
    if parent is not None:
        outside = area_m2(geom.difference(parent))
        if outside > epsilon_m2:
            out = geom.intersection(parent)
    taken: dict[str, float] = {}
    for code, sib in siblings:
        if out.intersects(sib):
            size = area_m2(out.intersection(sib))
            if size > epsilon_m2:
                out = out.difference(sib)
                taken[code] = size
    if out is geom:
        return geom, SnapReport(0.0, outside, {})
    if not out.is_valid:
        out = shapely.make_valid(out)
    # Overlay noise leaves slivers and stray lines; keep only real pieces.
    kept = [p for p in polygons(out) if area_m2(p) > epsilon_m2]
    if not kept:
        raise TopologyError(
            "Nothing is left of this shape once it is clipped to its parent and its neighbours "
            "are cut out: draw it where no neighbour is.",
            {"problems": feature_collection([])},
        )
    snapped = MultiPolygon(kept)
    report = SnapReport(max(before - area_m2(snapped), 0.0), outside, taken)
    return snapped, report


def split_by_line(geom: MultiPolygon, line_doc: Any, epsilon_m2: float) -> list[Polygon]:
    """The pieces a GeoJSON (Multi)LineString cuts an area into (at least two, or a 422)."""
    kind = line_doc.get("type") if isinstance(line_doc, dict) else None
    if kind not in ("LineString", "MultiLineString"):
        raise InvalidGeometry(
            f"A split needs a GeoJSON LineString or MultiLineString (got {kind}).", {"type": kind}
        )
    try:
        line = shapely.force_2d(geojson_shape(line_doc))
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as e:
        raise InvalidGeometry(f"The line cannot be read: {e}.", {"type": kind}) from e
    if not isinstance(line, LineString | MultiLineString) or line.is_empty:
        raise InvalidGeometry("The split line is empty.", {"type": kind})
    pieces = [p for p in polygons(split_geometry(geom, line)) if area_m2(p) > epsilon_m2]
    if len(pieces) < 2:
        raise InvalidGeometry(
            "The line does not cut the area into two or more pieces: draw it across the area "
            "from one edge to another.",
            {"pieces": len(pieces)},
        )
    return pieces


def merge_adjacent(geoms: list[BaseGeometry]) -> Polygon:
    """The union of areas that share edges, as one polygon (else a 422)."""
    # simplify(0) drops only exactly collinear vertices: the old shared edge's ends
    merged = shapely.union_all(geoms).simplify(0)
    if not isinstance(merged, Polygon):
        raise InvalidGeometry(
            "These areas are not adjacent: merged they would fall apart into "
            f"{len(polygons(merged))} pieces. Only areas sharing an edge can be merged.",
            {"pieces": len(polygons(merged))},
        )
    return merged


def same_shape(a: BaseGeometry, b: BaseGeometry, tolerance_deg: float = 1e-9) -> bool:
    """Whether two boundaries are the same within `tolerance_deg` (~0.1 mm), in any vertex order."""
    if shapely.equals_exact(a, b, tolerance_deg):
        return True
    return bool(shapely.hausdorff_distance(a, b) < tolerance_deg)


def degrees_for(metres: float, lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude covering `metres` at `lat`, padded by 10 %."""
    dy = metres / 110_574.0 * 1.1
    dx = metres / (111_320.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.1
    return dx, dy
