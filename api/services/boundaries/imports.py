"""Importing areas, buildings and configuration: one transaction each, all or nothing.

Re-importing the same data changes nothing; a changed area gets a new version (the old one is
closed in the same transaction); buildings are upserted by (source, source id). Imports respect
history: a retired code is not brought back unless `revive`, an area whose current version a
person saved (not an import) is not overwritten unless `overwrite_edited`; both are reported.
What would be written passes the API's topology checks first (services.import_checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb

from api.errors import BadRequest
from api.services.boundaries.impact import Cause
from api.services.boundaries.import_checks import import_problems, refuse_or_accept
from api.services.boundaries.import_reassign import reassign_after_import
from api.services.boundaries.store import require_current_code
from api.settings import Settings
from gis.assign import assign_buildings_to_grids
from gis.codes import child_code, number_reading_order
from gis.io import PolygonLayer, Repair, read_polygons
from gis.topology import feature_collection

LEVELS = ("district", "street", "community", "grid")
# Columns `gridgov export` adds that describe the exported version, not the area: never attributes.
EXPORT_FIELDS = ("version_id", "valid_from", "valid_to")
Progress = Callable[[str, int, int | None], None]  # (stage, done, total or None)

TEXT = {
    "reading": "读取文件",
    "staging": "写入暂存表",
    "checking": "拓扑检查",
    "writing": "保存",
    "buildings": "楼栋",
}

# Parent found spatially: the current area one level up that holds the child's interior point.
# ST_PointOnSurface is inside the polygon, so an edge-sharing neighbour never wins.
RESOLVE_PARENTS_SQL = """
UPDATE import_areas i SET parent_code = (
    SELECT a.code FROM areas a
    WHERE a.valid_to IS NULL AND a.level_rank = i.level_rank - 1
      AND ST_Covers(a.geom, ST_PointOnSurface(i.geom))
    ORDER BY a.code LIMIT 1)
WHERE i.parent_code IS NULL AND i.level_rank > 1
"""

# A row is unchanged when geometry (topologically), name, parent and attributes all match the
# current version; rows without a current version stay 'new'. Geometry within 1e-8 degrees
# (about 1 mm) counts as equal: a file exported in a projected CRS and read back differs by
# floating-point noise, and that must not open a new version.
DIFF_SQL = """
UPDATE import_areas i SET state = CASE
    WHEN (ST_Equals(a.geom, i.geom) OR ST_HausdorffDistance(a.geom, i.geom) < 1e-8)
         AND a.name = i.name
         AND a.parent_code IS NOT DISTINCT FROM i.parent_code
         AND a.attributes = i.attributes THEN 'same'
    ELSE 'changed' END
FROM areas a
WHERE a.code = i.code AND a.valid_to IS NULL
"""


@dataclass
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: list[Repair] = field(default_factory=list)
    generated_codes: int = 0
    reassigned: list[dict[str, Any]] = field(default_factory=list)  # open incidents moved
    retired_skipped: list[str] = field(default_factory=list)  # retired codes left retired
    revived: list[str] = field(default_factory=list)  # retired codes brought back (--revive)
    edited_skipped: list[str] = field(default_factory=list)  # people's edits left alone
    edited_overwritten: list[str] = field(default_factory=list)  # --overwrite-edited
    accepted: list[dict[str, Any]] = field(default_factory=list)  # problem features recorded


def _codes_for(layer: PolygonLayer, code_field: str, parents: list[str | None]) -> list[str]:
    """Codes from the file, or generated: parent code + 3-digit reading-order rank."""
    if code_field in layer.fields:
        return [str(p.get(code_field) or "").strip() for p in layer.properties]
    codes = [""] * len(layer.geometries)
    groups: dict[str | None, list[int]] = {}
    for i, parent in enumerate(parents):
        groups.setdefault(parent, []).append(i)
    for parent, members in groups.items():
        if parent is None:
            raise BadRequest(
                f"The file has no '{code_field}' field, and codes can only be generated for "
                "areas with a known parent (pass --parent-code or a parent_code field)."
            )
        ranks = number_reading_order([layer.geometries[i] for i in members])
        for i, rank in zip(members, ranks, strict=True):
            codes[i] = child_code(parent, rank)
    return codes


def import_areas(
    conn: Connection[Any],
    path: Path,
    *,
    level: str,
    code_field: str = "code",
    name_field: str = "name",
    parent_code: str | None = None,
    crs: str | None = None,
    actor: str = "import",
    note: str | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    revive: bool = False,
    overwrite_edited: bool = False,
    accept_problems: bool = False,
) -> ImportReport:
    """Import one level of areas from a file; parents from --parent-code, a field, or space.

    A grid import that changes anything also re-derives buildings' grids and moves the open
    incidents whose grid changed (services.import_reassign; `settings` gives the assignment
    tolerances, default settings when None)."""
    if level not in LEVELS:
        raise BadRequest(f"Unknown level '{level}'. Levels: {', '.join(LEVELS)}.")
    rank = LEVELS.index(level) + 1
    config = settings or Settings()
    if progress:
        progress(TEXT["reading"], 0, None)
    layer = read_polygons(path, crs=crs, id_field=code_field)
    if name_field not in layer.fields:
        raise BadRequest(
            f"{path.name} has no '{name_field}' field (fields: {', '.join(layer.fields)}); "
            "pass --name-field."
        )
    if parent_code:
        require_current_code(conn, parent_code, " to be the parent")
    # a Shapefile's names have at most 10 characters: `gridgov export` writes parent_code as parent
    short = "parent" in layer.fields and "parent_code" not in layer.fields
    pf = "parent" if short else "parent_code"
    parents: list[str | None] = [
        parent_code or (str(p[pf]) if p.get(pf) else None) for p in layer.properties
    ]
    skip = {code_field, name_field, pf, "level", *EXPORT_FIELDS}
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE import_areas (code text, parent_code text, name text, "
            "level_rank smallint, geom geometry(MultiPolygon, 4326), attributes jsonb, "
            "valid_from timestamptz, state text NOT NULL DEFAULT 'new') ON COMMIT DROP"
        )
        generated = code_field not in layer.fields
        if generated and rank > 1:
            # parents are needed first to number children inside them
            parents = _spatial_parents(conn, layer, rank, parents)
        codes = _codes_for(layer, code_field, parents)
        _check_codes(codes, path)
        with conn.cursor().copy(
            "COPY import_areas (code, parent_code, name, level_rank, geom, attributes, valid_from) "
            "FROM STDIN"
        ) as copy:
            for i, (props, geom) in enumerate(zip(layer.properties, layer.geometries, strict=True)):
                attrs = {k: v for k, v in props.items() if k not in skip and v is not None}
                copy.write_row(
                    (
                        codes[i],
                        parents[i],
                        str(props[name_field] or codes[i]),
                        rank,
                        f"SRID=4326;{geom.wkt}",
                        Jsonb(attrs),
                        _valid_from(props.get("valid_from"), codes[i], path),
                    )
                )
                if progress:
                    progress(TEXT["staging"], i + 1, len(layer.geometries))
        conn.execute(RESOLVE_PARENTS_SQL)
        _check_parents(conn, rank)
        conn.execute(DIFF_SQL)
        history = _respect_history(conn, revive=revive, overwrite_edited=overwrite_edited)
        clash = conn.execute(
            "SELECT i.code, a.level FROM import_areas i JOIN areas a "
            "ON a.code = i.code AND a.valid_to IS NULL WHERE a.level_rank <> i.level_rank LIMIT 5"
        ).fetchall()
        if clash:
            listed = ", ".join(f"{r['code']} ({r['level']})" for r in clash)
            raise BadRequest(f"These codes already exist at another level: {listed}.")
        problems = import_problems(
            conn,
            config.topology,
            (lambda done, total: progress(TEXT["checking"], done, total)) if progress else None,
        )
        refuse_or_accept(conn, problems, accept=accept_problems, source=path.name, actor=actor)
        if progress:
            progress(TEXT["writing"], 0, None)
        conn.execute(
            "UPDATE areas a SET valid_to = now() FROM import_areas i "
            "WHERE a.code = i.code AND a.valid_to IS NULL AND i.state = 'changed'"
        )
        conn.execute(
            "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, attributes, "
            "valid_from, created_by, note, imported) "
            "SELECT code, parent_code, name, %s, level_rank, geom, attributes, "
            # a code the database has never seen keeps the file's valid_from (a restore)
            "CASE WHEN valid_from <= now() AND NOT EXISTS (SELECT 1 FROM areas h "
            "WHERE h.code = import_areas.code) THEN valid_from ELSE now() END, %s, %s, true "
            "FROM import_areas WHERE state IN ('new', 'changed')",
            (level, actor, note or f"import of {path.name}"),
        )
        counts = {
            r["state"]: r["n"]
            for r in conn.execute(
                "SELECT state, count(*) AS n FROM import_areas GROUP BY state"
            ).fetchall()
        }
        moved: list[dict[str, Any]] = []
        if level == "grid" and (counts.get("new") or counts.get("changed")):
            assign_buildings_to_grids(conn)
            changed = conn.execute(
                "SELECT code FROM import_areas WHERE state IN ('new', 'changed') ORDER BY code"
            ).fetchall()
            cause = Cause(
                at=conn.execute("SELECT now() AS t").fetchone()["t"],  # type: ignore[index]
                actor=actor,
                why=note or f"import of {path.name}",
                areas=[r["code"] for r in changed],
            )
            moved = reassign_after_import(conn, config, cause)
    return ImportReport(
        created=counts.get("new", 0),
        updated=counts.get("changed", 0),
        unchanged=counts.get("same", 0),
        repaired=layer.repairs,
        generated_codes=len(codes) if generated else 0,
        reassigned=moved,
        accepted=feature_collection(problems)["features"],
        **history,
    )


# A code in the file with no current version but with history was retired (split, merged,
# retired through the API): it stays retired unless revived. A 'changed' code whose current
# version a person saved (not an import) keeps that edit unless overwritten on purpose.
RETIRED_SQL = """
UPDATE import_areas i SET state = %(state)s
WHERE i.state = 'new' AND EXISTS (SELECT 1 FROM areas h WHERE h.code = i.code)
RETURNING i.code
"""
EDITED_SQL = """
UPDATE import_areas i SET state = %(state)s FROM areas a
WHERE a.code = i.code AND a.valid_to IS NULL AND i.state = 'changed' AND NOT a.imported
RETURNING i.code
"""


def _respect_history(
    conn: Connection[Any], *, revive: bool, overwrite_edited: bool
) -> dict[str, list[str]]:
    """Mark retired and edited codes skipped (or let them through when asked); report them."""
    retired = sorted(
        r["code"]
        for r in conn.execute(RETIRED_SQL, {"state": "new" if revive else "retired"}).fetchall()
    )
    edited = sorted(
        r["code"]
        for r in conn.execute(
            EDITED_SQL, {"state": "changed" if overwrite_edited else "edited"}
        ).fetchall()
    )
    return {
        "revived" if revive else "retired_skipped": retired,
        "edited_overwritten" if overwrite_edited else "edited_skipped": edited,
    }


def _valid_from(value: Any, code: str, path: Path) -> dt.datetime | None:
    """A feature's valid_from (written by `gridgov export`) as an aware time; naive means UTC."""
    if value is None or value == "":
        return None
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise BadRequest(
            f"valid_from of {code} in {path.name} is not an ISO 8601 time: {value!r}."
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _spatial_parents(
    conn: Connection[Any], layer: PolygonLayer, rank: int, parents: list[str | None]
) -> list[str | None]:
    out = list(parents)
    for i, geom in enumerate(layer.geometries):
        if out[i] is None:
            row = conn.execute(
                "SELECT code FROM areas WHERE valid_to IS NULL AND level_rank = %s "
                "AND ST_Covers(geom, ST_PointOnSurface(ST_GeomFromText(%s, 4326))) "
                "ORDER BY code LIMIT 1",
                (rank - 1, geom.wkt),
            ).fetchone()
            out[i] = row["code"] if row else None
    return out


def _check_codes(codes: list[str], path: Path) -> None:
    missing = [i for i, c in enumerate(codes) if not c]
    if missing:
        raise BadRequest(f"{len(missing)} features of {path.name} have an empty code.")
    seen: set[str] = set()
    dupes = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if dupes:
        raise BadRequest(f"Codes repeat in {path.name}: {', '.join(dupes[:10])}.")


# Below the top level every area needs a current parent one level up: (the query of at most
# ten codes that break it, the refusal around them).
_PARENT_CHECKS = (
    (
        "SELECT code FROM import_areas WHERE parent_code IS NULL ORDER BY code LIMIT 10",
        "No parent area found for: {codes}. Import the level above first, or pass --parent-code.",
    ),
    (
        "SELECT DISTINCT i.parent_code AS code FROM import_areas i LEFT JOIN areas a "
        "ON a.code = i.parent_code AND a.valid_to IS NULL "
        "WHERE a.id IS NULL OR a.level_rank <> i.level_rank - 1 LIMIT 10",
        "These parent codes are not current areas one level up: {codes}.",
    ),
)


def _check_parents(conn: Connection[Any], rank: int) -> None:
    if rank == 1:
        return
    for query, refusal in _PARENT_CHECKS:
        rows = conn.execute(query).fetchall()
        if rows:
            raise BadRequest(refusal.format(codes=", ".join(r["code"] for r in rows)))


def import_buildings(
    conn: Connection[Any],
    path: Path,
    *,
    source: str | None = None,
    id_field: str = "osm_id",
    name_field: str = "name",
    address_field: str | None = None,
    households_field: str | None = None,
    crs: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert building footprints keyed by (source, id); then (re)assign their grids."""
    layer = read_polygons(path, crs=crs, id_field=id_field)
    src = source or path.stem
    report = ImportReport(repaired=layer.repairs)
    with conn.transaction():
        for i, (props, geom) in enumerate(zip(layer.properties, layer.geometries, strict=True)):
            sid = str(props.get(id_field) if id_field in layer.fields else i)
            address = props.get(address_field) if address_field else _osm_address(props)
            households = props.get(households_field) if households_field else None
            row = conn.execute(
                """
                INSERT INTO buildings (source, source_id, name, address, households, attributes,
                                       geom)
                VALUES (%s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))
                ON CONFLICT (source, source_id) DO UPDATE SET
                    name = EXCLUDED.name, address = EXCLUDED.address,
                    households = EXCLUDED.households, attributes = EXCLUDED.attributes,
                    geom = EXCLUDED.geom
                WHERE NOT (ST_Equals(buildings.geom, EXCLUDED.geom)
                           AND buildings.name IS NOT DISTINCT FROM EXCLUDED.name
                           AND buildings.attributes = EXCLUDED.attributes)
                RETURNING (xmax = 0) AS inserted
                """,
                (
                    src,
                    sid,
                    props.get(name_field),
                    address,
                    int(households) if households is not None else None,
                    Jsonb({k: v for k, v in props.items() if v is not None}),
                    geom.wkt,
                ),
            ).fetchone()
            if row is None:
                report.unchanged += 1
            elif row["inserted"]:
                report.created += 1
            else:
                report.updated += 1
            if progress:
                progress(TEXT["buildings"], i + 1, len(layer.geometries))
        assign_buildings_to_grids(conn)
    return report


def _osm_address(props: dict[str, Any]) -> str | None:
    parts = [props.get(k) for k in ("addr:city", "addr:street", "addr:housenumber")]
    text = "".join(str(p) for p in parts if p)
    return text or None
