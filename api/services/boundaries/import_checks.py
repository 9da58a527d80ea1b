"""The API's topology checks, run on everything an area import would write, before it writes.

An import is judged like a batch of saves: every area it would create or change must lie inside
its parent (within the boundary tolerance) and overlap none of its siblings after the import
(those in the file and the current ones it leaves alone), and an area it reshapes must still hold
its current children. Problems among areas the import does not touch are not its business (the
coverage check lists them). Found problems refuse the file, with the same problem
FeatureCollection the API answers; `accept` records them in `accepted_problems` instead, where
the coverage check and the editor's coverage panel show them as accepted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import shapely
from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from api.services.boundaries.store import children
from api.settings import TopologySettings
from gis.errors import TopologyError
from gis.topology import Coded, Problem, feature_collection, outside_parent, overlaps

Step = Callable[[int, int], None]  # (families checked, families in all)

# An English catalogue id (api/error_messages.py): `gridgov import` shows it in the terminal's
# language.
TEXT = {
    "refused": "Not imported: the file has {n} topology problems (first: {first}). Save the "
    "problem layer with --problems-out, correct it and import again; if these are known "
    "problems, add --accept-problems to record them and import.",
}

WRITTEN_SQL = """
SELECT code, parent_code, ST_AsBinary(geom) AS wkb FROM import_areas
WHERE state IN ('new', 'changed') ORDER BY parent_code, code
"""


def _written(conn: Connection[Any]) -> dict[str | None, list[Coded]]:
    families: dict[str | None, list[Coded]] = defaultdict(list)
    for r in conn.execute(WRITTEN_SQL).fetchall():
        families[r["parent_code"]].append((r["code"], shapely.from_wkb(bytes(r["wkb"]))))
    return families


def _parents(conn: Connection[Any], codes: list[str]) -> dict[str, BaseGeometry]:
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) AS wkb FROM areas "
        "WHERE code = ANY(%s) AND valid_to IS NULL",
        (codes,),
    ).fetchall()
    return {r["code"]: shapely.from_wkb(bytes(r["wkb"])) for r in rows}


def _family_problems(
    written: list[Coded], existing: list[Coded], parent: Coded | None, t: TopologySettings
) -> list[Problem]:
    found: list[Problem] = []
    if parent is not None:
        for area in written:
            p = outside_parent(area, parent, t.boundary_tolerance_m, t.overlap_epsilon_m2)
            found += [p] if p else []
    family = written + existing
    tree = shapely.STRtree([g for _, g in family])
    left, right = tree.query([g for _, g in written], predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        # written i against family j; a pair of written areas is judged once (i < j)
        if j < len(written) and j <= i:
            continue
        for p in overlaps(written[i], [family[j]], t.overlap_epsilon_m2):
            p.extra = {}
            found.append(p)
    return found


def import_problems(
    conn: Connection[Any], topology: TopologySettings, step: Step | None = None
) -> list[Problem]:
    """Problems the staged rows (temp table import_areas) would bring in, in a stable order."""
    families = _written(conn)
    parents = _parents(conn, [p for p in families if p is not None])
    found: list[Problem] = []
    for n, (parent_code, written) in enumerate(families.items(), start=1):
        codes = [c for c, _ in written]
        existing = children(conn, parent_code, exclude=codes)
        parent = (parent_code, parents[parent_code]) if parent_code is not None else None
        found += _family_problems(written, existing, parent, topology)
        if step:
            step(n, len(families))
    # a reshaped area must still hold its current children (one indexed read for all of them)
    written_by_code = {c: g for fam in families.values() for c, g in fam}
    kids = conn.execute(
        "SELECT parent_code, code, ST_AsBinary(geom) AS wkb FROM areas "
        "WHERE valid_to IS NULL AND parent_code = ANY(%s) ORDER BY parent_code, code",
        (list(written_by_code),),
    ).fetchall()
    for k in kids:
        area = (k["parent_code"], written_by_code[k["parent_code"]])
        child = (k["code"], shapely.from_wkb(bytes(k["wkb"])))
        p = outside_parent(child, area, topology.boundary_tolerance_m, topology.overlap_epsilon_m2)
        found += [p] if p else []
    return found


# The largest accepted size of each (kind, codes) among the given codes (GIN index on codes).
KNOWN_SQL = """
SELECT kind, codes, max(area_m2) AS area_m2 FROM accepted_problems
WHERE codes && %(codes)s GROUP BY kind, codes LIMIT 10000
"""


def unaccepted(conn: Connection[Any], problems: list[Problem], epsilon_m2: float) -> list[Problem]:
    """The problems not accepted at import, or grown beyond their accepted size.

    An area imported with a known overlap can still be edited elsewhere through the API: the
    known problem, no larger than when it was accepted, does not refuse the save."""
    if not problems:
        return []
    codes = sorted({c for p in problems for c in p.codes})
    known = {
        (r["kind"], tuple(r["codes"])): r["area_m2"]
        for r in conn.execute(KNOWN_SQL, {"codes": codes}).fetchall()
    }
    out = []
    for p in problems:
        key = (p.kind, tuple(sorted(p.codes)))
        if key not in known:
            out.append(p)
        elif known[key] is not None and (p.area_m2 or 0.0) > known[key] + epsilon_m2:
            out.append(p)
    return out


def refuse_or_accept(
    conn: Connection[Any], problems: list[Problem], *, accept: bool, source: str, actor: str
) -> None:
    """Raise the 422 topology_error with every problem, or record them as accepted."""
    if not problems:
        return
    if not accept:
        doc = feature_collection(problems)
        first = doc["features"][0]["properties"]["message"]
        raise TopologyError(TEXT["refused"].format(n=len(problems), first=first), {"problems": doc})
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO accepted_problems (kind, codes, parent_code, area_m2, message, geom, "
            "source, accepted_by) VALUES (%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326), %s, %s)",
            [
                (
                    p.kind,
                    sorted(p.codes),
                    p.extra.get("parent"),
                    p.area_m2,
                    p.message,
                    p.geometry.wkb,
                    source,
                    actor,
                )
                for p in problems
            ],
        )
