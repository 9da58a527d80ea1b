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


def field_kind(values: Sequence[Any]) -> str:
    """The field type values hold: bool, int (int64), float or text (also when all are null)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if all(-(2**63) <= v < 2**63 for v in present):
            return "int"
    if present and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in present
    ):
        return "float"
    return "text"


def typed_field(values: Sequence[Any], kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Values → (array of `kind`, null mask or None); a stream of batches passes the kind of
    the whole layer so every batch writes the same field types."""
    if kind == "bool":
        mask = np.array([v is None for v in values], dtype=bool)
        return np.array([bool(v) if v is not None else False for v in values], dtype=bool), mask
    if kind == "int":
        mask = np.array([v is None for v in values], dtype=bool)
        return np.array([v if v is not None else 0 for v in values], dtype=np.int64), mask
    if kind == "float":
        return np.array([math.nan if v is None else float(v) for v in values]), None
    return np.array([None if v is None else _text(v) for v in values], dtype=object), None


def field_array(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Values → (typed array, null mask or None): bool, int64, float64 or text, as they hold."""
    return typed_field(values, field_kind(values))


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
    names = [c.name for c in columns]
    kinds = [field_kind(c.values) for c in columns]
    with LayerStream(
        path, fmt, names, kinds, crs=crs, geometry_type=geometry_type, layer=layer
    ) as stream:
        stream.write(geometries, [c.values for c in columns])
    return stream.result()


_GEOJSON_HEAD = b'"features": [\n'
_GEOJSON_TAIL = b"\n]\n}\n"


def _splice_csv(part: Path, main: Path) -> None:
    """Add the rows of a CSV file (all but its header line) to another."""
    with part.open("rb") as src, main.open("ab") as out:
        src.readline()
        shutil.copyfileobj(src, out)


def _splice_geojson(part: Path, main: Path) -> None:
    """Add the features of a GeoJSON FeatureCollection as GDAL writes it to another one."""
    text = part.read_bytes()  # one batch
    start = text.index(_GEOJSON_HEAD) + len(_GEOJSON_HEAD)
    assert text.endswith(_GEOJSON_TAIL)
    with main.open("r+b") as out:
        out.seek(-len(_GEOJSON_TAIL), os.SEEK_END)
        assert out.read() == _GEOJSON_TAIL
        out.seek(-len(_GEOJSON_TAIL), os.SEEK_END)
        out.truncate()
        out.write(b",\n" + text[start : -len(_GEOJSON_TAIL)] + _GEOJSON_TAIL)


_SPLICED = {"csv": _splice_csv, "geojson": _splice_geojson}


class LayerStream:
    """A layer written batch by batch (constant memory), moved into place when complete.

    Every batch is written with the field types of the whole layer (`kinds`, see field_kind).
    The first batch creates the dataset; later ones are appended by GDAL (GeoPackage,
    Shapefile), except for the text formats: GDAL cannot append to a CSV file and rewrites a
    whole GeoJSON file to append (re-typing its fields), so each later batch is written to a
    file of its own and its features are spliced into the first file, which gives the bytes one
    write of all features gives. Use as a context manager: leaving it by an exception leaves
    no file behind.
    """

    def __init__(
        self,
        path: Path,
        fmt: str,
        names: Sequence[str],
        kinds: Sequence[str],
        *,
        crs: str,
        geometry_type: str,
        layer: str,
    ) -> None:
        self.path, self.fmt, self.kinds = path, fmt, list(kinds)
        self.names = list(names)
        self.field_names = [shapefile_names(names)[n] for n in names] if fmt == "shp" else names
        self.target = file_crs(crs)
        self.geometry_type, self.layer = geometry_type, layer
        self.features = 0
        self.truncated: dict[str, int] = {}
        self.batches = 0
        self._written: WrittenLayer | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix=".gridgov-export-", dir=path.parent))

    def __enter__(self) -> LayerStream:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                if self.batches == 0:  # an empty layer is still a file with its fields
                    self.write(np.array([], dtype=object), [[] for _ in self.names])
                self._finish()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def write(self, geometries: np.ndarray, values: Sequence[Sequence[Any]]) -> None:
        """Add one batch: EPSG:4326 geometries and one sequence of values per column."""
        geoms = from_wgs84(np.asarray(geometries, dtype=object), self.target)
        typed = [typed_field(v, k) for v, k in zip(values, self.kinds, strict=True)]
        arrays, masks = [a for a, _m in typed], [m for _a, m in typed]
        if self.fmt == "shp":
            for name, n in _shapefile_cuts(self.field_names, arrays).items():
                self.truncated[name] = self.truncated.get(name, 0) + n
        main = self.workdir / self.path.name
        if self.batches and self.fmt in _SPLICED:
            part = self.workdir / "part"
            part.mkdir()
            self._ogr(part / self.path.name, geoms, arrays, masks, append=False)
            _SPLICED[self.fmt](part / self.path.name, main)
            shutil.rmtree(part)
        else:
            self._ogr(main, geoms, arrays, masks, append=self.batches > 0)
        self.batches += 1
        self.features += len(geoms)

    def _ogr(
        self,
        target: Path,
        geoms: np.ndarray,
        arrays: list[np.ndarray],
        masks: list[np.ndarray | None],
        *,
        append: bool,
    ) -> None:
        with warnings.catch_warnings(), _wkt_precision(17 if self.fmt == "csv" else None):
            # GDAL warns once per field about cut text; we count every cut value ourselves
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.target in CHINESE:  # pyogrio warns that no CRS is declared: intended
                warnings.simplefilter("ignore", UserWarning)
            ogr_write(
                target,
                np.array(shapely.to_wkb(geoms), dtype=object),
                arrays,
                self.field_names,
                field_mask=masks,
                # a Shapefile's one layer is named after the file, whatever name created it
                layer=target.stem if append and self.fmt == "shp" else self.layer,
                driver=FORMATS[self.fmt][0],
                geometry_type=self.geometry_type,
                # GCJ-02/BD-09 have no definition a file can carry: such a file declares none
                crs=None if self.target in CHINESE else self.target,
                encoding="UTF-8" if self.fmt == "shp" else None,
                layer_options=None if append else _LAYER_OPTIONS.get(self.fmt),
                append=append,
            )

    def _finish(self) -> None:
        renamed = _written_names(self.workdir / self.path.name, self.names, self.fmt)
        for old in dataset_files(self.path, self.fmt):
            old.unlink(missing_ok=True)
        for produced in self.workdir.iterdir():
            os.replace(produced, self.path.parent / produced.name)
        self._written = WrittenLayer(self.path, self.features, self.target, renamed, self.truncated)

    def result(self) -> WrittenLayer:
        """What was written (after the `with` block ended without an error)."""
        assert self._written is not None, "the stream was not completed"
        return self._written


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
