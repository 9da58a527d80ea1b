"""Coordinate reference systems: name normalisation and conversion to and from WGS 84."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from gis.errors import InvalidCoordinates, UnknownCRS, UnsupportedCRS

WGS84 = "EPSG:4326"
CGCS2000 = "EPSG:4490"
GCJ02 = "GCJ02"
BD09 = "BD09"

_HINT = "Use EPSG:4326 (WGS 84, default), EPSG:4490 (CGCS2000), GCJ02, BD09 or another EPSG code."

# GCJ-02 works on the Krasovsky 1940 ellipsoid.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

# The conventional rough bounding box of mainland China inside which GCJ-02 applies an offset.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# BD-09 rotates/scales GCJ-02 with this angular frequency.
_BD_X_PI = math.pi * 3000.0 / 180.0

# Iteration limits for the inverse transforms. Both offsets change by only ~1e-3 degrees
# per degree moved, so each fixed-point step gains about three digits: GCJ-02 needs 3-5
# steps and BD-09 2-4 to reach 1e-10 degrees (~0.01 mm); 30 is a safety cap.
_INVERSE_TOLERANCE_DEG = 1e-10
_INVERSE_MAX_ITERATIONS = 30

# Only what pyproj cannot name: the Chinese consumer-map systems, and two short spellings.
# Everything else (EPSG:n, OGC:CRS84, URNs, OGC URIs …) is read by pyproj itself.
_ALIASES = {
    "": WGS84,
    "WGS84": WGS84,
    "CRS84": WGS84,
    "CGCS2000": CGCS2000,
    "GCJ02": GCJ02,
    "GCJ02LL": GCJ02,
    "BD09": BD09,
    "BD09LL": BD09,
}
_BARE_EPSG = re.compile(r"(?:EPSG:{0,2})?(\d{1,6})", re.ASCII)
_MAX_NAME = 120  # a CRS *name*, not a WKT or PROJ definition: those are not accepted here


def _unknown(name: str, reason: str = "") -> UnknownCRS:
    """The user-facing error for an unusable CRS name."""
    if reason:
        message = f"Coordinate reference system {name!r} cannot be used: {reason}. {_HINT}"
    else:
        message = f"Unknown coordinate reference system {name!r}. {_HINT}"
    return UnknownCRS(message, {"crs": name})


def normalize_crs(name: str | None) -> str:
    """Return the canonical name ('EPSG:n', 'GCJ02' or 'BD09') for a CRS name; None means WGS 84."""
    if name is None:
        return WGS84
    raw = str(name).strip()
    # Case, spaces, "-" and "_" do not matter: "gcj-02", "GCJ_02" and "wgs 84" all match.
    compact = re.sub(r"[\s_\-]", "", raw.upper())
    alias = _ALIASES.get(compact)
    if alias is not None:
        return alias
    bare = _BARE_EPSG.fullmatch(compact)  # 4547, EPSG4547, EPSG::4547: spellings pyproj refuses
    if bare:
        return _checked_epsg(int(bare.group(1)), raw)
    code = _epsg_code(raw)
    if code is None:
        raise _unknown(raw)
    return _checked_epsg(code, raw)


@lru_cache(maxsize=256)
def _epsg_code(raw: str) -> int | None:
    """The EPSG code of a CRS name pyproj reads (EPSG:n, OGC:CRS84, URN, OGC URI), or None.

    Definitions (WKT, PROJ strings) are refused: a file or request names a CRS, it does not
    define one, and a definition with no EPSG code could not be written back to a file.
    """
    if len(raw) > _MAX_NAME or not raw.isascii() or raw.lstrip().startswith(("+", "{")):
        return None
    if "[" in raw or " " in raw.strip():
        return None
    try:
        crs = CRS.from_user_input(raw)
    except CRSError:
        return None
    authority = crs.to_authority(min_confidence=100)
    if authority is None:
        return None
    name, code = authority
    if name == "OGC" and code == "CRS84":
        return 4326  # stored lon/lat, which is what CRS84 means
    return int(code) if name == "EPSG" and code.isdigit() else None


def _checked_epsg(code: int, raw: str) -> str:
    """Return 'EPSG:code' if pyproj knows it as a horizontal CRS, else raise UnknownCRS."""
    problem = _epsg_problem(code)
    if problem is None:
        raise _unknown(raw)
    if problem:
        raise _unknown(raw, problem)
    return f"EPSG:{code}"


@lru_cache(maxsize=256)
def _epsg_problem(code: int) -> str | None:
    """Return None for an unknown code, a reason if it is unusable, or '' if it is fine."""
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        return None
    # Vertical and geocentric systems exist in EPSG but a lon/lat pair cannot come from them.
    if not (crs.is_geographic or crs.is_projected):
        return f"{crs.name} is a {crs.type_name}, not a geographic or projected system"
    return ""


# Building a transformer costs ~10× a WGS 84 lookup; kept per (source, target) pair, failures
# too, so asking again for a system without a transformation is as cheap as for a good one.
@lru_cache(maxsize=512)
def _cached_transformer(source: str, target: str) -> Transformer | None:
    try:
        return Transformer.from_crs(source, target, always_xy=True)
    except ProjError:
        return None


def _transformer(source: str, target: str) -> Transformer:
    """A cached lon/lat-ordered transformer (thread-safe in pyproj >= 3.1); UnsupportedCRS (422)
    when PROJ has no transformation between the two systems."""
    found = _cached_transformer(source, target)
    if found is None:
        other = source if target == WGS84 else target
        raise UnsupportedCRS(
            f"Coordinate reference system {other} is known, but there is no transformation "
            f"between it and WGS 84 here. {_HINT}",
            {"crs": other},
        )
    return found


def check_transformable(name: str) -> None:
    """Raise UnsupportedCRS unless points can be converted from WGS 84 to `name` and back."""
    if name.startswith("EPSG:") and name != WGS84:
        _transformer(WGS84, name)
        _transformer(name, WGS84)


def to_wgs84(x: float, y: float, crs: str | None = None) -> tuple[float, float]:
    """Convert a point in `crs` (x=lon or easting, y=lat or northing) to WGS 84 (lon, lat)."""
    return _convert(x, y, crs, to_wgs=True)


def from_wgs84(lon: float, lat: float, crs: str | None = None) -> tuple[float, float]:
    """Convert a WGS 84 (lon, lat) point to `crs`, returning (lon, lat) or (easting, northing)."""
    return _convert(lon, lat, crs, to_wgs=False)


def _convert(x: float, y: float, crs: str | None, *, to_wgs: bool) -> tuple[float, float]:
    """One point between `crs` and WGS 84, either way: by formula (_FORMULAS), else by PROJ."""
    name = normalize_crs(crs)
    x, y = _finite_input(x, y)
    formulas = _FORMULAS.get(name)
    if formulas is not None:
        result = formulas[0 if to_wgs else 1](x, y)
    else:
        source, target = (name, WGS84) if to_wgs else (WGS84, name)
        result = _transformer(source, target).transform(x, y)
    return _finite(result, name)


def _finite_input(x: float, y: float) -> tuple[float, float]:
    """The coordinates as floats; InvalidCoordinates if either is NaN or infinite."""
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidCoordinates(f"Coordinates must be finite numbers, got ({x}, {y}).")
    return x, y


def _finite(point: tuple[float, float], crs: str) -> tuple[float, float]:
    """The point as floats; InvalidCoordinates if not finite (outside the CRS)."""
    x, y = float(point[0]), float(point[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidCoordinates(
            f"The coordinates cannot be converted with {crs}: they lie outside its area."
        )
    return x, y


def outside_china(lon: float, lat: float) -> bool:
    """Return True where GCJ-02 applies no offset (outside the rough mainland China box)."""
    return not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1])


def _gcj02_offset(lon: float, lat: float) -> tuple[float, float]:
    """Return the GCJ-02 (dlon, dlat) offset in degrees for a WGS 84 point inside China."""
    x = lon - 105.0
    y = lat - 35.0
    shared = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + shared
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + shared
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    # The polynomial gives metres-ish values; scale them by the Krasovsky radii of curvature.
    rad_lat = math.radians(lat)
    w = 1.0 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_w = math.sqrt(w)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w * sqrt_w)
    normal_radius = _KRASOVSKY_A / sqrt_w
    dlat = dlat_m * 180.0 / (meridian_radius * math.pi)
    dlon = dlon_m * 180.0 / (normal_radius * math.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Apply the public GCJ-02 ("Mars") forward offset to a WGS 84 point."""
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert GCJ-02 by fixed-point iteration on the forward transform (error << 1 mm)."""
    return _inverse(wgs84_to_gcj02, lon, lat, (lon, lat))


def _inverse(
    forward: Callable[[float, float], tuple[float, float]],
    lon: float,
    lat: float,
    guess: tuple[float, float],
) -> tuple[float, float]:
    """Solve forward(w) = (lon, lat) from `guess`: the offset varies slowly, so
    w <- w - (forward(w) - (lon, lat)) contracts."""
    wlon, wlat = guess
    for _ in range(_INVERSE_MAX_ITERATIONS):
        flon, flat = forward(wlon, wlat)
        step_lon, step_lat = flon - lon, flat - lat
        wlon -= step_lon
        wlat -= step_lat
        if max(abs(step_lon), abs(step_lat)) < _INVERSE_TOLERANCE_DEG:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Apply the public BD-09 (Baidu) forward transform to a GCJ-02 point."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Invert BD-09 to GCJ-02: the usual closed-form guess refined by fixed-point iteration."""
    x = lon - 0.0065
    y = lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    return _inverse(gcj02_to_bd09, lon, lat, (z * math.cos(theta), z * math.sin(theta)))


def _same(lon: float, lat: float) -> tuple[float, float]:
    return lon, lat


def _bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


# The systems converted by formula, not PROJ: (to WGS 84, from WGS 84).
_FORMULAS: dict[str, tuple[Callable[[float, float], tuple[float, float]], ...]] = {
    WGS84: (_same, _same),
    GCJ02: (gcj02_to_wgs84, wgs84_to_gcj02),
    BD09: (_bd09_to_wgs84, _wgs84_to_bd09),
}
