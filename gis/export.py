"""Writing layers to files (GeoPackage, GeoJSON, Shapefile, CSV) in any EPSG system or GCJ-02/BD-09.

The inverse of gis/io.read_polygons: geometries stored in EPSG:4326 are converted with pyproj
(the same library the importer converts back with) and written with pyogrio's raw writer. Values
keep their types where the format can hold them; what a format cannot hold is reported, never
dropped silently: Shapefile field names longer than 10 bytes are renamed (SHAPEFILE_NAMES for
GridGov's own columns, truncation for others) and its text values are cut at 254 bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyogrio import get_gdal_config_option, read_info, set_gdal_config_options
from pyogrio.raw import write as ogr_write
from pyproj import CRS, Transformer

from gis.crs import WGS84, normalize_crs
from gis.crs_files import CHINESE, wgs84_to_chinese
from gis.errors import InvalidCoordinates

# format name → (GDAL driver, file suffix, files that make up one dataset)
FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "gpkg": ("GPKG", ".gpkg", (".gpkg",)),
    "geojson": ("GeoJSON", ".geojson", (".geojson",)),
    "shp": ("ESRI Shapefile", ".shp", (".shp", ".shx", ".dbf", ".prj", ".cpg")),
    "csv": ("CSV", ".csv", (".csv", ".csvt", ".prj")),
}

# GridGov's long column names and their Shapefile (dBase: at most 10 bytes) names.
# `gridgov import areas` reads `parent` back as the parent code.
SHAPEFILE_NAMES = {
    "parent_code": "parent",
    "category_name": "cat_name",
    "description": "descr",
    "responsible_area": "resp_area",
    "reported_at": "reported",
    "updated_at": "updated",
    "reporter_name": "rep_name",
    "reporter_phone": "rep_phone",
    "reporter_email": "rep_email",
    "grid_version_id": "grid_vid",
    "community_version_id": "comm_vid",
    "street_version_id": "street_vid",
    "district_version_id": "dist_vid",
}
SHAPEFILE_NAME_LEN = 10
SHAPEFILE_TEXT_BYTES = 254

# CSV: geometry as a WKT first column, and a .csvt sidecar so codes stay text and numbers numbers.
_LAYER_OPTIONS = {"csv": {"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"}}


@dataclass
class Column:
    """One attribute column: its name and one value per feature (None = null)."""

    name: str
    values: Sequence[Any]


@dataclass
class WrittenLayer:
    """What was written, and what the format forced us to change."""

    path: Path
    features: int
    crs: str
    renamed: dict[str, str] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)


def file_crs(name: str | None) -> str:
    """The canonical 'EPSG:n', 'GCJ02' or 'BD09' for a file."""
    return normalize_crs(name)


def from_wgs84(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Convert EPSG:4326 geometries to `crs` (x = lon/easting); refuse non-finite results."""
    if crs == WGS84:
        return geoms
    if crs in CHINESE:
        return wgs84_to_chinese(geoms, crs)
    transformer = Transformer.from_crs(WGS84, crs, always_xy=True)
    out = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))
    coords = shapely.get_coordinates(out)
    if coords.size and not np.isfinite(coords).all():
        raise InvalidCoordinates(
            f"Some geometries lie outside the area where {crs} ({CRS.from_user_input(crs).name}) "
            "is defined; choose a coordinate system that covers them."
        )
    return out


@contextmanager
def _wkt_precision(digits: int | None) -> Iterator[None]:
    """GDAL's WKT digits for the write: 17 gives every double back (its default 15 does not),
    so a CSV export round-trips exactly like the other formats."""
    if digits is None:
        yield
        return
    before = get_gdal_config_option("OGR_WKT_PRECISION")
    set_gdal_config_options({"OGR_WKT_PRECISION": str(digits)})
    try:
        yield
    finally:
        set_gdal_config_options({"OGR_WKT_PRECISION": before})


def dataset_files(path: Path, fmt: str) -> list[Path]:
    """The files one dataset of `fmt` at `path` consists of (Shapefile: .shp, .dbf, …)."""
    return [path.with_suffix(ext) for ext in FORMATS[fmt][2]]


def _cut(name: str, size: int) -> str:
    """The longest prefix of `name` that fits in `size` bytes of UTF-8 (dBase counts bytes)."""
    while len(name.encode("utf-8")) > size:
        name = name[:-1]
    return name


def shapefile_names(names: Sequence[str]) -> dict[str, str]:
    """Map column names to unique Shapefile names of at most 10 bytes."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        short = _cut(SHAPEFILE_NAMES.get(name, name), SHAPEFILE_NAME_LEN)
        n = 1
        # dBase names are case-insensitive: compare folded
        while short.lower() in taken:
            suffix = f"_{n}"
            short = _cut(name, SHAPEFILE_NAME_LEN - len(suffix)) + suffix
            n += 1
        taken.add(short.lower())
        out[name] = short
    return out


def _text(value: Any) -> str:
    """A value as text: strings as they are, times as ISO 8601, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def field_array(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Values → (typed array, null mask or None): bool, int64, float64 or text, as they hold."""
    present = [v for v in values if v is not None]
    mask = np.array([v is None for v in values], dtype=bool)
    if present and all(isinstance(v, bool) for v in present):
        data = np.array([bool(v) if v is not None else False for v in values], dtype=bool)
        return data, mask
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if all(-(2**63) <= v < 2**63 for v in present):
            data = np.array([v if v is not None else 0 for v in values], dtype=np.int64)
            return data, mask
    if present and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in present
    ):
        return np.array([math.nan if v is None else float(v) for v in values]), None
    return np.array([None if v is None else _text(v) for v in values], dtype=object), None


def write_layer(
    path: Path,
    fmt: str,
    geometries: np.ndarray,
    columns: Sequence[Column],
    *,
    crs: str,
    geometry_type: str,
    layer: str,
) -> WrittenLayer:
    """Write EPSG:4326 geometries + columns as `fmt` in `crs`, replacing the dataset at `path`.

    Written into a temporary directory first, then moved into place: a failure leaves no half file.
    """
    driver = FORMATS[fmt][0]
    target = file_crs(crs)
    geoms = from_wgs84(np.asarray(geometries, dtype=object), target)
    names = [c.name for c in columns]
    if fmt == "shp":
        names = [shapefile_names(names)[n] for n in names]
    typed = [field_array(c.values) for c in columns]
    arrays, masks = [a for a, _m in typed], [m for _a, m in typed]
    truncated = _shapefile_cuts(names, arrays) if fmt == "shp" else {}
    workdir = Path(tempfile.mkdtemp(prefix=".gridgov-export-", dir=path.parent))
    try:
        with warnings.catch_warnings(), _wkt_precision(17 if fmt == "csv" else None):
            # GDAL warns once per field about cut text; we count every cut value ourselves
            warnings.simplefilter("ignore", RuntimeWarning)
            if target in CHINESE:  # pyogrio warns that no CRS is declared: that is intended
                warnings.simplefilter("ignore", UserWarning)
            ogr_write(
                workdir / path.name,
                np.array(shapely.to_wkb(geoms), dtype=object),
                arrays,
                names,
                field_mask=masks,
                layer=layer,
                driver=driver,
                geometry_type=geometry_type,
                # GCJ-02/BD-09 have no definition a file can carry: such a file declares none
                crs=None if target in CHINESE else target,
                encoding="UTF-8" if fmt == "shp" else None,
                layer_options=_LAYER_OPTIONS.get(fmt),
            )
        renamed = _written_names(workdir / path.name, [c.name for c in columns], fmt)
        for old in dataset_files(path, fmt):
            old.unlink(missing_ok=True)
        for produced in workdir.iterdir():
            os.replace(produced, path.parent / produced.name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return WrittenLayer(path, len(geoms), target, renamed, truncated)


def _written_names(path: Path, names: Sequence[str], fmt: str) -> dict[str, str]:
    """Column → field name as the written file holds it, for the columns whose name changed.

    Read back from the file rather than predicted: GDAL's Shapefile driver also launders names
    (`building:l` → `building_l`, `name:en` → `name_en`) after our 10-byte shortening.
    """
    if fmt != "shp":
        return {}
    fields = list(read_info(path)["fields"])
    return {old: new for old, new in zip(names, fields, strict=True) if old != new}


def _shapefile_cuts(names: Sequence[str], arrays: Sequence[np.ndarray]) -> dict[str, int]:
    """How many text values per column exceed dBase's 254 bytes (GDAL cuts them)."""
    cuts: dict[str, int] = {}
    for name, data in zip(names, arrays, strict=True):
        if data.dtype == object:
            n = sum(
                1
                for v in data
                if isinstance(v, str) and len(v.encode("utf-8")) > SHAPEFILE_TEXT_BYTES
            )
            if n:
                cuts[name] = n
    return cuts
