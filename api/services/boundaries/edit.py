"""Boundary editing: create, change, retire and preview areas, with topology checks.

Each change is one transaction: lock the parent's current version (so siblings are checked
against each other one save at a time) and the edited version (SELECT … FOR UPDATE), compare it
with If-Match, check the topology, close the old version and insert the new one, then move the
buildings and open incidents whose grid or department changed. A refused change stores nothing.
A preview runs the same steps inside a savepoint and rolls it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from psycopg import Connection
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from api.errors import AreaInUse, CodeTaken, ValidationFailed
from api.services.boundaries.impact import Cause, Impact, settle_assignments
from api.services.boundaries.import_checks import unaccepted
from api.services.boundaries.store import (
    LEVELS,
    AreaRow,
    check_fresh,
    children,
    close_versions,
    code_ever_used,
    current_area,
    insert_version,
    lock_current,
    new_codes,
    require_current,
    require_versions,
    save_moment,
    version_features,
)
from api.services.identity.auth import User
from api.services.identity.policy import require_area_edit
from api.settings import Settings
from gis.errors import TopologyError
from gis.reassign import open_incidents_of
from gis.topology import (
    Problem,
    feature_collection,
    gaps,
    parse_area_geometry,
    placement_problems,
    same_shape,
    snap_to_neighbours,
)

TOP_LOCK = "gridgov:areas:top-level"


@dataclass
class AreaChange:
    """What a caller asks to store for one area (None: keep / not given)."""

    geometry: Any = None
    name: str | None = None
    level: str | None = None
    parent_code: str | None = None
    code: str | None = None
    attributes: dict[str, Any] | None = None
    note: str | None = None


@dataclass
class SaveResult:
    """A stored (or previewed) version, its warnings, the snap report and the impact."""

    feature: dict[str, Any]
    version_id: int | None
    warnings: list[Problem] = field(default_factory=list)
    fix: dict[str, Any] | None = None
    impact: Impact = field(default_factory=Impact)

    def body(self) -> dict[str, Any]:
        """The Feature, with `warnings`, `fix` and `impact` as foreign members."""
        return {
            **self.feature,
            "warnings": feature_collection(self.warnings),
            "fix": self.fix,
            "impact": self.impact.as_json(),
        }


def require_editor(conn: Connection[Any], user: User, code: str | None, action: str) -> None:
    """Only admins, and officers whose scope holds the area, change boundaries (else 403)."""
    require_area_edit(conn, user, code, action)  # the rule: api.services.identity.policy.EDIT_AREAS


def lock_parent(
    conn: Connection[Any], parent_code: str | None, *, lock: bool = True
) -> AreaRow | None:
    """Lock the parent's current version (top level: an advisory lock) so sibling saves queue."""
    if parent_code is None:
        if lock:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TOP_LOCK,))
        return None
    parent = lock_current(conn, parent_code) if lock else current_area(conn, parent_code)
    if parent is None:
        raise ValidationFailed(
            f"The parent area '{parent_code}' does not exist (or was retired).",
            {"parent_code": parent_code},
        )
    return parent


def refuse(problems: list[Problem]) -> None:
    """Raise the 422 topology_error listing every problem, when there are any."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TopologyError(
            f"Not saved: {problems[0].message}{more}",
            {"problems": feature_collection(problems)},
        )


def refuse_children(conn: Connection[Any], row: AreaRow, action: str) -> None:
    """409 when an area still has current children (they would lose their parent)."""
    kids = [c for c, _ in children(conn, row.code)]
    if kids:
        raise AreaInUse(
            f"Area {row.code} still has {len(kids)} current children ({', '.join(kids[:5])}"
            f"{'…' if len(kids) > 5 else ''}): retire or redraw them before you {action} it.",
            {"children": kids},
        )


def lock_to_retire(
    conn: Connection[Any],
    parent_code: str | None,
    codes: list[str],
    versions: list[int],
    action: str,
) -> tuple[AreaRow | None, list[AreaRow]]:
    """Lock the parent, then the areas' current versions (in code order); 412 unless they are
    the versions read, 409 while any still has children. For changes that retire areas."""
    parent = lock_parent(conn, parent_code)
    rows = [require_current(conn, c, lock=True) for c in sorted(codes)]
    check_fresh(conn, rows, versions)
    for r in rows:
        refuse_children(conn, r, action)
    return parent, rows


def child_level(level: str | None, parent: AreaRow | None) -> str:
    """The level a new area must have under `parent` (one below it; top level: district)."""
    if parent is None:
        expected = "district"
    elif parent.level_rank >= len(LEVELS):
        raise ValidationFailed(f"{parent.code} is a grid: grids have no child areas.")
    else:
        expected = LEVELS[parent.level_rank]
    if level is not None and level != expected:
        where = f"under {parent.level} {parent.code}" if parent else "at the top level"
        raise ValidationFailed(
            f"An area {where} must be a {expected}, not a {level}.",
            {"level": level, "expected": expected},
        )
    return expected


def _snap(
    settings: Settings,
    geom: MultiPolygon,
    parent: AreaRow | None,
    siblings: list[tuple[str, BaseGeometry]],
    fix: str | None,
) -> tuple[MultiPolygon, dict[str, Any] | None]:
    if fix != "snap":
        return geom, None
    snapped, report = snap_to_neighbours(
        geom, parent.geom if parent else None, siblings, settings.topology.overlap_epsilon_m2
    )
    return snapped, report.as_json()


def _problems(
    settings: Settings,
    code: str,
    geom: BaseGeometry,
    parent: AreaRow | None,
    siblings: list[tuple[str, BaseGeometry]],
    kids: list[tuple[str, BaseGeometry]],
) -> list[Problem]:
    t = settings.topology
    return placement_problems(
        (code, geom),
        parent=parent.coded if parent else None,
        siblings=siblings,
        children=kids,
        tolerance_m=t.boundary_tolerance_m,
        epsilon_m2=t.overlap_epsilon_m2,
    )


def gap_warnings(
    settings: Settings, parent: AreaRow | None, family: list[tuple[str, BaseGeometry]]
) -> list[Problem]:
    """Gaps left between the parent's children after the change (warnings, not errors)."""
    if parent is None:
        return []
    return gaps(parent.coded, family, settings.topology.overlap_epsilon_m2)


def create_area(
    conn: Connection[Any], settings: Settings, user: User, change: AreaChange, *, fix: str | None
) -> SaveResult:
    """Store a new area (code generated under its parent when not given)."""
    if change.geometry is None or not change.name:
        raise ValidationFailed("A new area needs a geometry and properties.name.")
    require_editor(conn, user, change.parent_code, "create areas here")
    geom = parse_area_geometry(change.geometry, change.code)
    with conn.transaction():
        parent = lock_parent(conn, change.parent_code)
        level = child_level(change.level, parent)
        siblings = children(conn, change.parent_code)
        geom, fix_report = _snap(settings, geom, parent, siblings, fix)
        if change.code:
            if code_ever_used(conn, change.code):
                raise CodeTaken(
                    f"Code {change.code} is (or was) used by another area; codes are never "
                    "reused. Leave the code out to have one generated.",
                    {"code": change.code},
                )
            code = change.code
        elif parent is not None:
            code = new_codes(conn, parent.code, [geom], siblings)[0]
        else:
            raise ValidationFailed("A top-level area needs properties.code.")
        refuse(_problems(settings, code, geom, parent, siblings, []))
        at = save_moment(conn)
        try:
            vid = insert_version(
                conn,
                code=code,
                parent_code=change.parent_code,
                name=change.name,
                level=level,
                geom=geom,
                attributes=change.attributes or {},
                at=at,
                user=user.name,
                note=change.note,
            )
        except (psycopg.errors.UniqueViolation, psycopg.errors.ExclusionViolation) as exc:
            raise CodeTaken(f"Code {code} was just taken; try again.", {"code": code}) from exc
        warnings = gap_warnings(settings, parent, [*siblings, (code, geom)])
        impact = settle_assignments(
            conn,
            settings,
            touched=geom,
            grids_changed=level == "grid",
            cause=Cause(at, user.name, f"area {code} created", [code]),
        )
        feature = version_features(conn, [vid])[0]
    return SaveResult(feature, vid, warnings, fix_report, impact)


def update_area(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    code: str,
    change: AreaChange,
    *,
    versions: list[int] | None,
    fix: str | None,
    dry_run: bool = False,
) -> SaveResult:
    """Save a new version of an area (or, with dry_run, show what saving would do)."""
    if not dry_run:
        versions = require_versions(versions, "Changing an area")
    current = require_current(conn, code, lock=False)
    require_editor(conn, user, code, "change this area")
    for name, value, now in (
        ("code", change.code, current.code),
        ("parent_code", change.parent_code, current.parent_code),
        ("level", change.level, current.level),
    ):
        if value is not None and value != now:
            raise ValidationFailed(
                f"An area's {name} cannot change ({now} → {value}): create a new area, or "
                "split/merge, instead.",
                {"field": name},
            )
    result: SaveResult | None = None
    with conn.transaction() as tx:
        parent = lock_parent(conn, current.parent_code, lock=not dry_run)
        row = require_current(conn, code, lock=not dry_run)
        if versions:
            check_fresh(conn, [row], versions)
        reshaped = change.geometry is not None or fix is not None
        geom: MultiPolygon = row.geom
        siblings: list[tuple[str, BaseGeometry]] = []
        fix_report = None
        if reshaped:
            if change.geometry is not None:
                geom = parse_area_geometry(change.geometry, code)
            siblings = children(conn, row.parent_code, exclude=[code])
            if geom is not row.geom and same_shape(geom, row.geom):
                geom = row.geom  # read from a door and sent back: keep the stored doubles
            geom, fix_report = _snap(settings, geom, parent, siblings, fix)
            if geom is not row.geom:
                found = _problems(settings, code, geom, parent, siblings, children(conn, code))
                refuse(unaccepted(conn, found, settings.topology.overlap_epsilon_m2))
        if (
            geom is row.geom
            and (change.name or row.name) == row.name
            and (change.attributes is None or change.attributes == row.attributes)
            and not change.note
        ):
            # nothing would change (and no note asks for a version): no new version, no
            # re-assignment, the ETag stays
            return SaveResult(version_features(conn, [row.id])[0], row.id, fix=fix_report)
        at = close_versions(conn, [row.id])
        vid = insert_version(
            conn,
            code=code,
            parent_code=row.parent_code,
            name=change.name or row.name,
            level=row.level,
            geom=geom,
            attributes=row.attributes if change.attributes is None else change.attributes,
            at=at,
            user=user.name,
            note=change.note,
        )
        result = SaveResult(version_features(conn, [vid])[0], vid, fix=fix_report)
        if reshaped:
            result.warnings = gap_warnings(settings, parent, [*siblings, (code, geom)])
            result.impact = settle_assignments(
                conn,
                settings,
                touched=shapely.union(row.geom, geom),
                grids_changed=row.level == "grid",
                cause=Cause(at, user.name, f"area {code} redrawn", [code]),
            )
        if dry_run:
            props = result.feature["properties"]
            props.update(version_id=None, valid_from=None, created_by=None)
            result.version_id = None
            raise psycopg.Rollback(tx)
    assert result is not None
    return result


def retire_area(
    conn: Connection[Any], settings: Settings, user: User, code: str, *, versions: list[int] | None
) -> SaveResult:
    """Close an area's current version without a successor (409 while it is still in use)."""
    versions = require_versions(versions, "Retiring an area")
    current = require_current(conn, code, lock=False)
    require_editor(conn, user, code, "retire this area")
    with conn.transaction():
        _, (row,) = lock_to_retire(conn, current.parent_code, [code], versions, "retire")
        open_ids = open_incidents_of(conn, code, row.geom, settings.assignment.nearest_grid_m)
        if open_ids:
            shown = ", ".join(open_ids[:20]) + ("…" if len(open_ids) > 20 else "")
            raise AreaInUse(
                f"Area {code} still has open incidents ({shown}): close them, or redraw the "
                "area instead of retiring it.",
                {"incidents": open_ids[:20]},
            )
        at = close_versions(conn, [row.id])
        impact = settle_assignments(
            conn,
            settings,
            touched=row.geom,
            grids_changed=row.level == "grid",
            cause=Cause(at, user.name, f"area {code} retired", [code]),
        )
        feature = version_features(conn, [row.id])[0]
    return SaveResult(feature, row.id, [], None, impact)
