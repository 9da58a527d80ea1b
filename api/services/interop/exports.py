"""Exports of areas, buildings and incidents to files (`gridgov export`): the inverse of imports.

Columns carry what the importers read back (code, name, parent_code, level …) plus each area
version's id and dates. Every key of `attributes` becomes a column of its own, so GIS tools show
them as fields and `gridgov import areas` turns them back into the same attributes. Times are
ISO 8601 text in UTC (microseconds kept; Shapefile has no date-time type). Reporter contact data
is left out unless explicitly asked for.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from psycopg import Connection, sql

from api.errors import BadRequest
from api.services.boundaries.imports import LEVELS
from gis.export import (
    FORMATS,
    Column,
    LayerStream,
    WrittenLayer,
    dataset_files,
    file_crs,
    write_layer,
)

LAYERS = ("areas", "buildings", "incidents")
Progress = Callable[[int, int], None]  # (rows read so far, rows in total)
BATCH = 500
# Incidents are streamed to the file in batches of this many rows (constant memory: a year of a
# city, 1,000,000 incidents, held whole took ≈ 3.2 GB, docs/performance.md)
STREAM_BATCH = 20_000
# PostgreSQL types (OIDs) → field kinds of gis.export.field_kind; anything else is text
KIND_OF_TYPE = {16: "bool", 20: "int", 21: "int", 23: "int", 700: "float", 701: "float"}
KIND_OF_TYPE[1700] = "float"  # numeric

AREA_COLUMNS = """
    a.code, a.name, a.level, a.parent_code, a.id AS version_id, a.valid_from, a.valid_to,
    a.attributes, ST_AsBinary(a.geom) AS wkb
"""
# Current versions, or with `at` the versions valid at that instant (valid_from ≤ at < valid_to).
AREA_CURRENT = "a.valid_to IS NULL"
AREA_AT = "a.valid_from <= %(at)s AND (a.valid_to IS NULL OR a.valid_to > %(at)s)"

BUILDING_COLUMNS = """
    b.id, b.source, b.source_id, b.name, b.address, b.households, b.grid_code AS grid,
    b.attributes, ST_AsBinary(b.geom) AS wkb
"""

INCIDENT_COLUMNS = """
    i.public_id AS id, i.status, i.category_code AS category, c.name AS category_name,
    i.description, i.source, i.method, i.distance_m, i.grid_code AS grid,
    i.community_code AS community, i.street_code AS street, i.district_code AS district,
    i.responsible_area_code AS responsible_area, i.department_code AS department,
    i.grid_version_id, i.community_version_id, i.street_version_id, i.district_version_id,
    i.reported_at, i.updated_at, i.due_at, i.closed_at,
    i.due_at IS NOT NULL AND i.closed_at IS NULL AND i.due_at < now() AS overdue,
    i.orig_x, i.orig_y, i.orig_crs, i.is_demo, ST_AsBinary(i.geom) AS wkb
"""
CONTACT_COLUMNS = """,
    i.reporter->>'name' AS reporter_name, i.reporter->>'phone' AS reporter_phone,
    i.reporter->>'email' AS reporter_email
"""


@dataclass
class ExportRequest:
    """What to export, and how."""

    layer: str
    fmt: str
    crs: str = "EPSG:4326"
    level: str | None = None
    at: dt.datetime | None = None
    with_contacts: bool = False


@dataclass
class ExportResult:
    """The written layer and the attribute columns that had to be renamed."""

    written: WrittenLayer
    renamed_attributes: dict[str, str]


def output_path(path: Path, fmt: str | None) -> tuple[Path, str]:
    """The dataset path and format: the format from the suffix when not given, and vice versa."""
    by_suffix = {suffix: name for name, (_d, suffix, _f) in FORMATS.items()}
    suffix = path.suffix.lower()
    if fmt is None:
        if suffix not in by_suffix:
            raise BadRequest(
                f"Cannot tell the format from '{path.name}': pass --format "
                f"({', '.join(FORMATS)}) or end the name in {', '.join(by_suffix)}."
            )
        return path, by_suffix[suffix]
    if fmt not in FORMATS:
        raise BadRequest(f"Unknown format '{fmt}'. Formats: {', '.join(FORMATS)}.")
    if not suffix:
        return path.with_suffix(FORMATS[fmt][1]), fmt
    if suffix != FORMATS[fmt][1]:
        raise BadRequest(
            f"'{path.name}' does not end in {FORMATS[fmt][1]}, the suffix of --format {fmt}."
        )
    return path, fmt


def check_export(req: ExportRequest, path: Path, overwrite: bool) -> None:
    """Refuse option combinations that mean nothing, and never replace a file unasked."""
    if req.layer not in LAYERS:
        raise BadRequest(f"Unknown layer '{req.layer}'. Layers: {', '.join(LAYERS)}.")
    if req.level is not None and req.layer != "areas":
        raise BadRequest("--level applies to areas only.")
    if req.level is not None and req.level not in LEVELS:
        raise BadRequest(f"Unknown level '{req.level}'. Levels: {', '.join(LEVELS)}.")
    if req.at is not None and req.layer != "areas":
        raise BadRequest("--at applies to areas only: they are the versioned layer.")
    if req.with_contacts and req.layer != "incidents":
        raise BadRequest("--with-contacts applies to incidents only.")
    file_crs(req.crs)
    if not path.parent.is_dir():
        raise BadRequest(f"The directory {path.parent} does not exist.")
    existing = [p for p in dataset_files(path, req.fmt) if p.exists()]
    if existing and not overwrite:
        raise BadRequest(f"{existing[0]} already exists; pass --overwrite to replace it.")


def _parts(req: ExportRequest) -> tuple[sql.SQL, sql.Composed, sql.SQL, dict[str, Any]]:
    """(columns, FROM … WHERE …, ORDER BY, parameters) of the requested layer."""
    params: dict[str, Any] = {}
    source: sql.Composed
    if req.layer == "areas":
        conds = [AREA_AT if req.at else AREA_CURRENT]
        params["at"] = req.at
        if req.level:
            conds.append("a.level = %(level)s")
            params["level"] = req.level
        where = sql.SQL(" AND ").join(sql.SQL(c) for c in conds)
        source = sql.SQL("FROM areas a WHERE {}").format(where)
        return sql.SQL(AREA_COLUMNS), source, sql.SQL("a.level_rank, a.code, a.id"), params
    if req.layer == "buildings":
        return (
            sql.SQL(BUILDING_COLUMNS),
            sql.Composed([sql.SQL("FROM buildings b")]),
            sql.SQL("b.id"),
            params,
        )
    source = sql.Composed(
        [sql.SQL("FROM incidents i JOIN categories c ON c.code = i.category_code")]
    )
    cols = sql.SQL(INCIDENT_COLUMNS + (CONTACT_COLUMNS if req.with_contacts else ""))
    return cols, source, sql.SQL("i.id"), params


def _query(req: ExportRequest) -> tuple[sql.Composed, sql.Composed, dict[str, Any]]:
    """(rows query, count query, parameters) for the requested layer."""
    cols, source, order, params = _parts(req)
    rows = sql.SQL("SELECT {} {} ORDER BY {}").format(cols, source, order)
    count = sql.SQL("SELECT count(*) AS n {}").format(source)
    return rows, count, params


def _value(v: Any) -> Any:
    """Database values as file values: times as UTC ISO 8601 text, numerics as floats."""
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def _columns(rows: list[dict[str, Any]], names: list[str]) -> tuple[list[Column], dict[str, str]]:
    """Fixed columns plus one column per attribute key (renamed when it clashes with a column)."""
    columns = [Column(n, [_value(r[n]) for r in rows]) for n in names if n != "attributes"]
    if "attributes" not in names:
        return columns, {}
    fixed = {c.name: c.values for c in columns}
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r["attributes"] or {}))
    renamed: dict[str, str] = {}
    for key in keys:
        values = [(r["attributes"] or {}).get(key) for r in rows]
        name = key
        if key in fixed:
            # an attribute repeating its own column (e.g. a building's source 'name') adds nothing
            if all(v is None or v == f for v, f in zip(values, fixed[key], strict=True)):
                continue
            name = f"attr_{key}"
            while name in fixed:
                name += "_"
            renamed[key] = name
        fixed[name] = values
        columns.append(Column(name, values))
    return columns, renamed


def export_layer(
    conn: Connection[Any],
    req: ExportRequest,
    path: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    batch: int | None = None,
) -> ExportResult:
    """Write one layer to a file in the requested format and coordinate system."""
    check_export(req, path, overwrite)
    if req.layer == "incidents":
        return ExportResult(_stream_incidents(conn, req, path, progress, batch or STREAM_BATCH), {})
    rows_sql, count_sql, params = _query(req)
    with conn.transaction():
        # REPEATABLE READ semantics are not needed: the count only sizes the progress bar
        count_row = conn.execute(count_sql, params).fetchone()
        total = int(count_row["n"]) if count_row else 0
        rows: list[dict[str, Any]] = []
        with conn.cursor(name="gridgov_export") as cur:
            cur.execute(rows_sql, params)
            names = [d.name for d in cur.description or []]
            while page := cur.fetchmany(BATCH):
                rows.extend(page)
                if progress:
                    progress(len(rows), max(total, len(rows)))
    if progress and not rows:
        progress(0, 0)
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in rows], dtype=object))
    columns, renamed = _columns(rows, [n for n in names if n != "wkb"])
    written = write_layer(
        path,
        req.fmt,
        geoms,
        columns,
        crs=req.crs,
        geometry_type="Point" if req.layer == "incidents" else "MultiPolygon",
        layer=req.layer if req.level is None else f"{req.layer}_{req.level}",
    )
    return ExportResult(written, renamed)


def _stream_incidents(
    conn: Connection[Any],
    req: ExportRequest,
    path: Path,
    progress: Progress | None,
    batch: int,
) -> WrittenLayer:
    """Incidents (fixed columns, no attribute keys) read through a server-side cursor and
    written batch by batch: memory stays that of one batch whatever the size of the layer.

    The field types are those the whole layer's values give (gis.export.field_kind): the column's
    type, or text for a column without any value; one count query, which also sizes the
    progress bar, tells which columns have a value (like the count of the other layers, it
    may see a report the cursor, declared a moment before, does not).
    """
    rows_sql, _count, params = _query(req)
    cols, source, _order, _params = _parts(req)
    with conn.transaction():
        with conn.cursor(name="gridgov_export") as cur:
            cur.execute(rows_sql, params)
            fields = [(d.name, d.type_code) for d in cur.description or [] if d.name != "wkb"]
            # PostgreSQL computes only the columns counted here (unused subquery outputs are
            # dropped), so this is one scan of the incidents
            present = conn.execute(
                sql.SQL("SELECT count(*) AS n, {} FROM (SELECT {} {}) x").format(
                    sql.SQL(", ").join(
                        sql.SQL("count({}) AS {}").format(sql.Identifier(n), sql.Identifier(n))
                        for n, _t in fields
                    ),
                    cols,
                    source,
                ),
                params,
            ).fetchone()
            assert present is not None
            total = int(present["n"])
            names = [n for n, _t in fields]
            kinds = [KIND_OF_TYPE.get(t, "text") if present[n] else "text" for n, t in fields]
            with LayerStream(
                path, req.fmt, names, kinds, crs=req.crs, geometry_type="Point", layer=req.layer
            ) as stream:
                while rows := cur.fetchmany(batch):
                    geoms = shapely.from_wkb(
                        np.array([bytes(r["wkb"]) for r in rows], dtype=object)
                    )
                    stream.write(geoms, [[_value(r[n]) for r in rows] for n in names])
                    if progress:
                        progress(stream.features, max(total, stream.features))
    if progress and total == 0:
        progress(0, 0)
    return stream.result()


def field_renames(result: ExportResult) -> dict[str, str]:
    """Every source name whose field in the file is named otherwise → that field's real name.

    An attribute renamed for clashing with a column may be renamed again by the format; the
    report names the field as the file holds it.
    """
    written, clashes = result.written.renamed, result.renamed_attributes
    out = {key: written.get(col, col) for key, col in clashes.items()}
    out.update({col: name for col, name in written.items() if col not in clashes.values()})
    return out
