"""Reading, locking and versioning area rows for boundary edits.

A save never rewrites a row: it closes the current version (valid_to) and inserts the next one,
both stamped with the same moment, inside the caller's transaction. The database keeps the rest
(one current version per code, no overlapping periods, closed versions immutable, area_parts in
sync).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from psycopg import Connection
from psycopg.types.json import Jsonb
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from api.errors import CodeTaken, NotFound, PreconditionRequired, StaleVersion
from gis.codes import child_code, number_reading_order
from gis.features import area_versions_geojson
from gis.rows import one_row

LEVELS = ("district", "street", "community", "grid")

ROW_SQL = """
SELECT id, code, parent_code, name, level, level_rank, attributes, valid_from, valid_to,
       ST_AsBinary(geom) AS wkb
FROM areas WHERE code = %(code)s AND valid_to IS NULL
"""


@dataclass
class AreaRow:
    """One current area version, geometry as Shapely."""

    id: int
    code: str
    parent_code: str | None
    name: str
    level: str
    level_rank: int
    attributes: dict[str, Any]
    geom: MultiPolygon

    @property
    def coded(self) -> tuple[str, BaseGeometry]:
        """(code, geometry), the shape topology checks take."""
        return self.code, self.geom


def _row(rec: dict[str, Any]) -> AreaRow:
    return AreaRow(
        id=int(rec["id"]),
        code=rec["code"],
        parent_code=rec["parent_code"],
        name=rec["name"],
        level=rec["level"],
        level_rank=int(rec["level_rank"]),
        attributes=rec["attributes"] or {},
        geom=shapely.from_wkb(bytes(rec["wkb"])),
    )


def current_area(conn: Connection[Any], code: str) -> AreaRow | None:
    """The current version of an area, unlocked."""
    rec = conn.execute(ROW_SQL, {"code": code}).fetchone()
    return _row(rec) if rec else None


def lock_current(conn: Connection[Any], code: str) -> AreaRow | None:
    """The current version of an area, locked FOR UPDATE until the transaction ends."""
    for _ in range(3):
        rec = conn.execute(ROW_SQL + " FOR UPDATE", {"code": code}).fetchone()
        if rec is not None:
            return _row(rec)
        # Under READ COMMITTED a version closed while we waited for its lock drops out of the
        # locked read; a fresh statement sees the version that replaced it (if any).
        if current_area(conn, code) is None:
            return None
    return None


def is_current(conn: Connection[Any], code: str) -> bool:
    """Whether `code` names a current area (no geometry read)."""
    row = conn.execute("SELECT 1 FROM areas WHERE code = %s AND valid_to IS NULL", (code,))
    return row.fetchone() is not None


def require_current_code(conn: Connection[Any], code: str, role: str = "") -> None:
    """404 unless `code` names a current area; `role` ends the message (" to be the parent")."""
    if not is_current(conn, code):
        raise NotFound(f"No current area with code '{code}'{role}.")


def require_current(conn: Connection[Any], code: str, *, lock: bool) -> AreaRow:
    """The current version (locked if asked) or 404."""
    row = lock_current(conn, code) if lock else current_area(conn, code)
    if row is None:
        raise NotFound(f"No current area with code '{code}'.")
    return row


def children(
    conn: Connection[Any], parent_code: str | None, exclude: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, BaseGeometry]]:
    """Current children of an area (top-level areas when `parent_code` is None), by code."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) AS wkb FROM areas "
        "WHERE parent_code IS NOT DISTINCT FROM %(p)s AND valid_to IS NULL "
        "AND code <> ALL(%(ex)s) ORDER BY code",
        {"p": parent_code, "ex": list(exclude)},
    ).fetchall()
    return [(r["code"], shapely.from_wkb(bytes(r["wkb"]))) for r in rows]


def save_moment(conn: Connection[Any]) -> dt.datetime:
    """The timestamp of this save, read after the locks are held so it follows every version
    those locks waited for (now() would be the earlier transaction start)."""
    row = conn.execute("SELECT clock_timestamp() AS t").fetchone()
    assert row is not None
    return row["t"]


def close_version(conn: Connection[Any], version_id: int, at: dt.datetime) -> None:
    """End a current version at `at` (the only change the history trigger allows)."""
    done = conn.execute(
        "UPDATE areas SET valid_to = %s WHERE id = %s AND valid_to IS NULL", (at, version_id)
    ).rowcount
    assert done == 1, f"version {version_id} was not current"


def close_versions(conn: Connection[Any], version_ids: list[int]) -> dt.datetime:
    """End these current versions at this save's moment; returns it (new versions start then)."""
    at = save_moment(conn)
    for version_id in version_ids:
        close_version(conn, version_id, at)
    return at


def insert_version(
    conn: Connection[Any],
    *,
    code: str,
    parent_code: str | None,
    name: str,
    level: str,
    geom: BaseGeometry,
    attributes: dict[str, Any],
    at: dt.datetime,
    user: str,
    note: str | None,
    derived_from: list[int] | None = None,
) -> int:
    """Open a new current version valid from `at`; returns its id (the ETag).

    `derived_from`: the versions a split or merge made it from (its lineage)."""
    row = one_row(
        conn,
        "INSERT INTO areas (code, parent_code, name, level, level_rank, geom, attributes, "
        "valid_from, created_by, note, derived_from) VALUES (%(code)s, %(parent)s, %(name)s, "
        "%(level)s, %(rank)s, ST_GeomFromWKB(%(wkb)s, 4326), %(attrs)s, %(at)s, %(user)s, "
        "%(note)s, %(derived)s) RETURNING id",
        {
            "code": code,
            "parent": parent_code,
            "name": name,
            "level": level,
            "rank": LEVELS.index(level) + 1,
            "wkb": geom.wkb,
            "attrs": Jsonb(attributes),
            "at": at,
            "user": user,
            "note": note,
            "derived": derived_from,
        },
    )
    return int(row["id"])


def version_features(conn: Connection[Any], version_ids: list[int]) -> list[dict[str, Any]]:
    """Features of the given versions, in the given order."""
    doc = orjson.loads(
        area_versions_geojson(conn, version_ids=version_ids, limit=max(len(version_ids), 1))
    )
    by_id = {f["properties"]["version_id"]: f for f in doc["features"]}
    return [by_id[v] for v in version_ids]


def codes_ever_used(conn: Connection[Any], prefix: str) -> set[str]:
    """Codes of every version (current or history) numbered under `prefix`."""
    rows = conn.execute(
        "SELECT DISTINCT code FROM areas WHERE starts_with(code, %s) AND length(code) = %s",
        (prefix, len(prefix) + 3),
    ).fetchall()
    return {r["code"] for r in rows}


def code_ever_used(conn: Connection[Any], code: str) -> bool:
    """Whether any version ever carried this code (codes are never reused)."""
    return (
        conn.execute("SELECT 1 FROM areas WHERE code = %s LIMIT 1", (code,)).fetchone() is not None
    )


def new_codes(
    conn: Connection[Any],
    parent_code: str,
    new: list[BaseGeometry],
    siblings: list[tuple[str, BaseGeometry]],
) -> list[str]:
    """Codes for new children: parent code + reading-order rank among all siblings, or the next
    number after it that no version ever used (a retired code is never given to another area)."""
    ranks = number_reading_order([g for _, g in siblings] + new)[len(siblings) :]
    used = codes_ever_used(conn, parent_code)
    out: list[str] = []
    for rank in ranks:
        n = rank
        for _ in range(999):
            candidate = child_code(parent_code, n)
            if candidate not in used:
                break
            n = n % 999 + 1
        else:
            raise CodeTaken(f"No free code is left under {parent_code}: all 999 are used.")
        used.add(candidate)
        out.append(candidate)
    return out


def parse_if_match(header: str | None) -> list[int] | None:
    """Version ids from an If-Match header ("12", bare 12; comma-separated list).

    If-Match compares strongly (RFC 9110 13.1.1): a weak tag W/"12" never matches, nor does
    anything but a version id (ASCII digits, at most 18: a bigint), so they answer 412.
    """
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        raise PreconditionRequired(
            "If-Match must name the version you edited (its ETag), not '*'.",
            {"header": "If-Match"},
        )
    out = []
    for tag in header.split(","):
        tag = tag.strip()
        bare = tag.strip('"').strip()
        strong = not tag.startswith("W/")
        ok = strong and bare.isascii() and bare.isdigit() and len(bare) <= 18
        out.append(int(bare) if ok else -1)  # never a version id: stale
    return out


def require_versions(versions: list[int] | None, what: str) -> list[int]:
    """The If-Match versions, or 428 when none were sent."""
    if not versions:
        raise PreconditionRequired(
            f"{what} needs an If-Match header with the ETag (version id) of the area as you "
            "last read it, so nobody's change is lost. GET /api/v1/areas/{code} returns it.",
            {"header": "If-Match"},
        )
    return versions


def check_fresh(conn: Connection[Any], rows: list[AreaRow], versions: list[int]) -> None:
    """412 with the current versions when any locked row is not the version the client read."""
    stale = [r for r in rows if r.id not in versions]
    if not stale:
        return
    features = version_features(conn, [r.id for r in stale])
    details: dict[str, Any] = {
        "current": features[0] if len(rows) == 1 else features,
        "stale_codes": [r.code for r in stale],
        "sent": versions,
    }
    names = ", ".join(r.code for r in stale)
    raise StaleVersion(
        f"Someone else changed {names} since you read it: reload the current version "
        "(in details) and redo your edit.",
        details,
    )
