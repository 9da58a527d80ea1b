"""GCJ-02 and BD-09 coordinates in files: whole geometries converted with gis.crs's transforms.

Boundaries published by Amap and DataV GeoAtlas are GCJ-02, Baidu's BD-09. Neither has an EPSG
definition a file could declare, so such a file says nothing true about its CRS and the person
importing it names one (`--crs GCJ02`). Every vertex goes through the very functions the API uses
for points (gis.crs.to_wgs84 / from_wgs84: the public forward offset and its iterative inverse,
error < 0.01 mm), so a file and a report with the same coordinates land on the same spot.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import BD09, GCJ02, from_wgs84, to_wgs84

CHINESE = (GCJ02, BD09)


def _each(xy: np.ndarray, convert: object, crs: str) -> np.ndarray:
    out = np.empty_like(xy)
    for i, (x, y) in enumerate(xy):
        out[i] = convert(x, y, crs)  # type: ignore[operator]
    return out


def chinese_to_wgs84(geoms: np.ndarray | BaseGeometry, crs: str) -> np.ndarray:
    """GCJ-02 or BD-09 lon/lat geometries as WGS 84 (EPSG:4326)."""
    return shapely.transform(geoms, lambda xy: _each(xy, to_wgs84, crs))


def wgs84_to_chinese(geoms: np.ndarray | BaseGeometry, crs: str) -> np.ndarray:
    """WGS 84 geometries in GCJ-02 or BD-09 lon/lat (for consumers that expect them)."""
    return shapely.transform(geoms, lambda xy: _each(xy, from_wgs84, crs))
