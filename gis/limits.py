"""Size limits on submitted GeoJSON, checked on the raw document before any parsing work."""

from __future__ import annotations

from typing import Any

from gis.errors import SpatialError


class GeometryTooLarge(SpatialError):
    """A geometry with more vertices per polygon or more parts than the server accepts."""

    code = "geometry_too_large"


def _polygons(doc: dict[str, Any]) -> list[Any]:
    """The polygons (lists of rings) of a Polygon/MultiPolygon; [] for anything else."""
    coords = doc.get("coordinates")
    if not isinstance(coords, list):
        return []
    if doc.get("type") == "Polygon":
        return [coords]
    if doc.get("type") == "MultiPolygon":
        return coords
    return []


def check_geometry_size(doc: Any, max_vertices: int, max_parts: int, what: str = "area") -> None:
    """Refuse (422 geometry_too_large) a GeoJSON geometry over the vertex or part limits."""
    if not isinstance(doc, dict):
        return  # type errors are reported by the parser with a better message
    if doc.get("type") in ("LineString", "MultiLineString"):
        coords = doc.get("coordinates")
        lines = [coords] if doc["type"] == "LineString" else coords
        lines = lines if isinstance(lines, list) else []
        count = sum(len(line) for line in lines if isinstance(line, list))
        if count > max_vertices:
            raise GeometryTooLarge(
                f"The {what}'s line has {count} vertices; at most {max_vertices} are accepted.",
                {"vertices": count, "max_vertices": max_vertices},
            )
        return
    polygons = _polygons(doc)
    if len(polygons) > max_parts:
        raise GeometryTooLarge(
            f"The {what} has {len(polygons)} parts; at most {max_parts} are accepted.",
            {"parts": len(polygons), "max_parts": max_parts},
        )
    for index, rings in enumerate(polygons):
        if not isinstance(rings, list):
            continue
        count = sum(len(ring) for ring in rings if isinstance(ring, list))
        if count > max_vertices:
            raise GeometryTooLarge(
                f"Polygon {index + 1} of the {what} has {count} vertices; at most {max_vertices} "
                "are accepted (simplify it first).",
                {"part": index, "vertices": count, "max_vertices": max_vertices},
            )
