"""OGC API – Features Part 2: the coordinate systems features are offered in, and their axes.

Storage is EPSG:4326 with lon/lat order, which is what CRS84 means. Any other CRS is reached with
ST_Transform in the query itself, and coordinates are written in the order the CRS defines (EPSG:
4326 and 4490 are lat/lon; the CGCS2000 Gauss-Krüger zones 4534–4554 are northing/easting) — as
Part 2 requires and as GDAL and QGIS expect. The axis order is read from pyproj, not written
down by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from psycopg import sql
from pyproj import CRS, Transformer

from gis.errors import UnknownCRS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
# WGS 84, CGCS2000 (geographic), Web Mercator, and the CGCS2000 3-degree Gauss-Krüger zones
# with central meridians 75°E … 135°E (EPSG:4534–4554), the grids Chinese surveys are drawn in.
OFFERED_EPSG = (4326, 4490, 3857, *range(4534, 4555))


@dataclass(frozen=True)
class OgcCrs:
    """A CRS as OGC names it, with what the query needs to write coordinates in it."""

    uri: str
    srid: int  # 4326 for CRS84
    flip: bool  # first axis north (lat/lon, northing/easting): swap PostGIS's x/y
    precision: int  # decimals that keep about a centimetre

    def geometry(self, column: str = "t.geom") -> sql.Composable:
        """SQL giving the GeoJSON geometry of `column` (EPSG:4326) in this CRS."""
        expr: sql.Composable = sql.SQL(column)
        if self.srid != 4326:
            expr = sql.SQL("ST_Transform({}, {})").format(expr, sql.Literal(self.srid))
        if self.flip:
            expr = sql.SQL("ST_FlipCoordinates({})").format(expr)
        return sql.SQL("ST_AsGeoJSON({}, {})::jsonb").format(expr, sql.Literal(self.precision))


def offered_uris() -> list[str]:
    """Every CRS a collection can be asked for, CRS84 first."""
    return [CRS84, *(EPSG_URI + str(code) for code in OFFERED_EPSG)]


@cache
def ogc_crs(uri: str | None) -> OgcCrs:
    """The offered CRS named by `uri` (None = CRS84); refuses anything else."""
    if uri is None or uri in (CRS84, "CRS84", "OGC:CRS84"):
        return OgcCrs(CRS84, 4326, False, 7)
    code = _epsg_code(uri)
    if code is None or code not in OFFERED_EPSG:
        raise UnknownCRS(
            f"{uri} is not offered. Use one of the collection's 'crs' list, e.g. {CRS84} or "
            f"{EPSG_URI}4490 (CGCS2000).",
            {"crs": uri},
        )
    crs = CRS.from_epsg(code)
    first = crs.axis_info[0].direction.lower()
    return OgcCrs(EPSG_URI + str(code), code, first == "north", 7 if crs.is_geographic else 3)


def _epsg_code(uri: str) -> int | None:
    """The EPSG code of an OGC URI, a safe CURIE `[EPSG:n]` or `EPSG:n`; None otherwise."""
    text = uri.strip().strip("[]")
    for prefix in (EPSG_URI, "https://www.opengis.net/def/crs/EPSG/0/", "EPSG:"):
        if text.startswith(prefix) and text[len(prefix) :].isascii():
            rest = text[len(prefix) :]
            return int(rest) if rest.isdigit() and len(rest) <= 6 else None
    return None


def bbox_to_crs84(
    bbox: tuple[float, float, float, float], crs: OgcCrs
) -> tuple[float, float, float, float]:
    """A bbox given in `crs` (in its axis order) as a lon/lat box that covers it."""
    if crs.srid == 4326 and not crs.flip:
        return bbox
    a0, b0, a1, b1 = bbox
    x0, y0, x1, y1 = (b0, a0, b1, a1) if crs.flip else (a0, b0, a1, b1)
    transformer = Transformer.from_crs(crs.srid, 4326, always_xy=True)
    lon0, lat0, lon1, lat1 = transformer.transform_bounds(x0, y0, x1, y1, densify_pts=21)
    return lon0, lat0, lon1, lat1
