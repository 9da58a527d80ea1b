"""Splitting an area with a line, and merging adjacent siblings into one.

Both retire the old areas (their versions are closed, never rewritten) and open new areas with
codes numbered under the same parent, in one transaction with the same checks as any save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from api.errors import CodeTaken, ValidationFailed
from api.services.boundaries.edit import (
    gap_warnings,
    lock_to_retire,
    refuse,
    require_editor,
)
from api.services.boundaries.impact import Cause, Impact, settle_assignments
from api.services.boundaries.store import (
    AreaRow,
    children,
    close_versions,
    code_ever_used,
    insert_version,
    new_codes,
    require_current,
    require_versions,
    version_features,
)
from api.services.identity.auth import User
from api.settings import Settings
from gis.codes import number_reading_order
from gis.topology import (
    Problem,
    feature_collection,
    merge_adjacent,
    placement_problems,
    split_by_line,
)


@dataclass
class ReshapeResult:
    """New areas from a split or merge, the retired codes, warnings and impact."""

    features: list[dict[str, Any]]
    retired: list[str]
    warnings: list[Problem] = field(default_factory=list)
    impact: Impact = field(default_factory=Impact)

    def body(self) -> dict[str, Any]:
        """A FeatureCollection of the new areas with `retired`, `warnings`, `impact` members."""
        return {
            "type": "FeatureCollection",
            "features": self.features,
            "retired": self.retired,
            "warnings": feature_collection(self.warnings),
            "impact": self.impact.as_json(),
        }


def _check_all(
    settings: Settings,
    new: list[tuple[str, BaseGeometry]],
    parent: AreaRow | None,
    siblings: list[tuple[str, BaseGeometry]],
) -> None:
    t = settings.topology
    problems: list[Problem] = []
    for area in new:
        problems += placement_problems(
            area,
            parent=parent.coded if parent else None,
            siblings=siblings,
            children=[],
            tolerance_m=t.boundary_tolerance_m,
            epsilon_m2=t.overlap_epsilon_m2,
        )
    refuse(problems)


def split_area(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    code: str,
    line: Any,
    *,
    names: list[str] | None,
    note: str | None,
    versions: list[int] | None,
) -> ReshapeResult:
    """Cut an area along a line into two or more new areas; the old one is retired."""
    versions = require_versions(versions, "Splitting an area")
    current = require_current(conn, code, lock=False)
    require_editor(conn, user, code, "split this area")
    if current.parent_code is None:
        raise ValidationFailed("Top-level areas cannot be split: their codes are not numbered.")
    with conn.transaction():
        parent, (row,) = lock_to_retire(conn, current.parent_code, [code], versions, "split")
        pieces = split_by_line(row.geom, line, settings.topology.overlap_epsilon_m2)
        # reading order of the pieces themselves: the order of `names` and of the response
        order = number_reading_order(list(pieces))
        pieces = [p for _, p in sorted(zip(order, pieces, strict=True), key=lambda t: t[0])]
        if names is not None and len(names) != len(pieces):
            raise ValidationFailed(
                f"The line cuts {code} into {len(pieces)} pieces but {len(names)} names were "
                "given (names go north→south, west→east).",
                {"pieces": len(pieces), "names": len(names)},
            )
        siblings = children(conn, row.parent_code, exclude=[code])
        codes = new_codes(conn, current.parent_code, list(pieces), siblings)
        new = [(c, MultiPolygon([p])) for c, p in zip(codes, pieces, strict=True)]
        _check_all(settings, new, parent, siblings)
        at = close_versions(conn, [row.id])
        vids = [
            insert_version(
                conn,
                code=c,
                parent_code=row.parent_code,
                name=names[i] if names else f"{row.name} ({i + 1})",
                level=row.level,
                geom=g,
                attributes=row.attributes,
                at=at,
                user=user.name,
                note=note or f"split from {code}",
                derived_from=[row.id],
            )
            for i, (c, g) in enumerate(new)
        ]
        result = ReshapeResult(version_features(conn, vids), [code])
        result.warnings = gap_warnings(settings, parent, [*siblings, *new])
        result.impact = settle_assignments(
            conn,
            settings,
            touched=row.geom,
            grids_changed=row.level == "grid",
            cause=Cause(at, user.name, f"{code} split into {', '.join(codes)}", [code, *codes]),
        )
    return result


def merge_areas(
    conn: Connection[Any],
    settings: Settings,
    user: User,
    codes: list[str],
    *,
    name: str | None,
    code: str | None,
    attributes: dict[str, Any] | None,
    note: str | None,
    versions: list[int] | None,
) -> ReshapeResult:
    """Merge adjacent siblings into one new area; the merged ones are retired."""
    if len(set(codes)) != len(codes) or len(codes) < 2:
        raise ValidationFailed("Give two or more different area codes to merge.", {"codes": codes})
    versions = require_versions(versions, "Merging areas")
    rows = [require_current(conn, c, lock=False) for c in codes]
    if len({(r.parent_code, r.level) for r in rows}) != 1:
        raise ValidationFailed(
            "Only siblings can be merged: the areas must have the same parent and level.",
            {"parents": {r.code: r.parent_code for r in rows}},
        )
    for r in rows:
        require_editor(conn, user, r.code, "merge these areas")
    parent_code, level = rows[0].parent_code, rows[0].level
    if parent_code is None:
        raise ValidationFailed("Top-level areas cannot be merged: their codes are not numbered.")
    with conn.transaction():
        parent, rows = lock_to_retire(conn, parent_code, codes, versions, "merge")
        merged = MultiPolygon([merge_adjacent([r.geom for r in rows])])
        siblings = children(conn, parent_code, exclude=codes)
        if code and code_ever_used(conn, code):
            raise CodeTaken(
                f"Code {code} is (or was) used by another area; codes are never reused.",
                {"code": code},
            )
        new_code = code or new_codes(conn, parent_code, [merged], siblings)[0]
        _check_all(settings, [(new_code, merged)], parent, siblings)
        at = close_versions(conn, [r.id for r in rows])
        first = next(r for r in rows if r.code == codes[0])
        vid = insert_version(
            conn,
            code=new_code,
            parent_code=parent_code,
            name=name or first.name,
            level=level,
            geom=merged,
            attributes=first.attributes if attributes is None else attributes,
            at=at,
            user=user.name,
            note=note or f"merged from {', '.join(codes)}",
            derived_from=[r.id for r in rows],
        )
        result = ReshapeResult(version_features(conn, [vid]), list(codes))
        result.warnings = gap_warnings(settings, parent, [*siblings, (new_code, merged)])
        result.impact = settle_assignments(
            conn,
            settings,
            touched=merged,
            grids_changed=level == "grid",
            cause=Cause(
                at, user.name, f"{', '.join(codes)} merged into {new_code}", [*codes, new_code]
            ),
        )
    return result
