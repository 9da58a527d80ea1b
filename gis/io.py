"""Reading polygon layers (GeoJSON, GeoPackage, Shapefile …) into EPSG:4326 MultiPolygons.

pyogrio reads the file; pyproj converts the coordinates; invalid polygons are repaired with
make_valid (keeping the polygonal part) and every repair is reported, never hidden.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyogrio.errors import DataSourceError
from pyogrio.raw import read as ogr_read
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.crs import normalize_crs
from gis.crs_files import CHINESE, chinese_to_wgs84
from gis.errors import InvalidGeometry, UnknownCRS

# Open options that keep values as the file holds them: GeoJSON date-like strings stay text (GDAL
# would turn them into millisecond datetimes); a CSV's WKT column is the geometry only, not also an
# attribute, and an empty CSV cell is a null (CSV cannot tell them apart).
OPEN_OPTIONS: dict[str, dict[str, str]] = {
    ".geojson": {"DATE_AS_STRING": "YES"},
    ".json": {"DATE_AS_STRING": "YES"},
    ".csv": {"KEEP_GEOM_COLUMNS": "NO", "EMPTY_STRING_AS_NULL": "YES"},
}


@dataclass
class Repair:
    """One feature whose geometry was repaired, and why it needed it."""

    feature: int
    ident: str
    reason: str


@dataclass
class PolygonLayer:
    """Features of a layer: properties and EPSG:4326 MultiPolygons, aligned by index."""

    properties: list[dict[str, Any]]
    geometries: list[MultiPolygon]
    source_crs: str
    fields: list[str]
    repairs: list[Repair] = field(default_factory=list)


def _source_crs(meta_crs: str | None, override: str | None, path: Path) -> CRS:
    if override:
        name = normalize_crs(override)
        if name in CHINESE:
            # GCJ-02/BD-09 are lon/lat degrees; a file in metres cannot hold them
            if meta_crs and CRS.from_user_input(meta_crs).is_projected:
                raise UnknownCRS(
                    f"{path.name} is in a projected system ({CRS.from_user_input(meta_crs).name}), "
                    f"so its coordinates cannot be {name} longitudes and latitudes.",
                    {"crs": name},
                )
            return CRS.from_epsg(4326)  # read as lon/lat; converted by gis.crs_files
        return CRS.from_user_input(name)
    if not meta_crs:
        raise UnknownCRS(
            f"{path.name} does not say which coordinate system it uses; pass --crs EPSG:n."
        )
    return CRS.from_user_input(meta_crs)


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon | None:
    """The polygonal part of a geometry as a MultiPolygon (None when it has none)."""
    geom = shapely.force_2d(geom)
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [
        p
        for g in getattr(geom, "geoms", [])
        for p in (getattr(g, "geoms", None) or [g])
        if isinstance(p, Polygon) and not p.is_empty
    ]
    return MultiPolygon(parts) if parts else None


def read_polygons(
    path: Path, *, crs: str | None = None, layer: str | None = None, id_field: str | None = None
) -> PolygonLayer:
    """Read a polygon layer; reproject to EPSG:4326 and repair invalid geometries."""
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    try:
        meta, _fids, wkb, field_data = ogr_read(
            path, layer=layer, **OPEN_OPTIONS.get(path.suffix.lower(), {})
        )
    except DataSourceError as exc:
        raise InvalidGeometry(f"Cannot read {path.name}: {exc}") from exc
    fields = [str(f) for f in meta["fields"]]
    n = len(wkb)
    kinds = [str(d) for d in meta.get("dtypes", [])] or [""] * len(fields)
    properties = [
        {name: _plain(field_data[j][i], kinds[j]) for j, name in enumerate(fields)}
        for i in range(n)
    ]
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    source = _source_crs(meta.get("crs"), crs, path)
    chinese = normalize_crs(crs) if crs and normalize_crs(crs) in CHINESE else None
    if chinese:
        geoms = chinese_to_wgs84(geoms, chinese)
    elif not source.equals(CRS.from_epsg(4326)):
        transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))
    out: list[MultiPolygon] = []
    repairs: list[Repair] = []
    for i, geom in enumerate(geoms):
        ident = str(properties[i].get(id_field, i)) if id_field else str(i)
        if geom is None or geom.is_empty:
            raise InvalidGeometry(f"Feature {ident} of {path.name} has no geometry.")
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom)
            repairs.append(Repair(i, ident, reason))
        multi = as_multipolygon(geom)
        if multi is None or multi.is_empty:
            raise InvalidGeometry(
                f"Feature {ident} of {path.name} is not a polygon "
                f"({geom.geom_type}); only polygon layers can be imported here."
            )
        out.append(multi)
    return PolygonLayer(properties, out, chinese or source.to_string(), fields, repairs)


def _plain(value: Any, kind: str = "") -> Any:
    """numpy scalars → Python values of the field's type `kind`; NaN → None (JSON-safe)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    # pyogrio hands integer and boolean columns that hold nulls over as floats
    if isinstance(value, float) and kind.startswith(("int", "uint")):
        return int(value)
    if isinstance(value, float) and kind == "bool":
        return bool(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dt.date | dt.time):  # date/time fields: ISO text keeps them JSON-safe
        return value.isoformat()
    return value
