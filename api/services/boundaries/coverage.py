"""Coverage check: gaps, overlaps and outside-parent pieces among the children of each parent.

Problems an import was allowed to keep (`gridgov import areas --accept-problems`) are still
listed, marked `accepted` with when, by whom and from which file.
"""

from __future__ import annotations

from typing import Any

import shapely
from psycopg import Connection

from api.services.boundaries.store import require_current_code
from api.settings import TopologySettings
from gis.topology import Problem, coverage_problems, feature_collection

# Current parents that have current children, with those children; one parent when asked.
FAMILIES_SQL = """
SELECT c.parent_code, ST_AsBinary(p.geom) AS parent_wkb,
       array_agg(c.code ORDER BY c.code) AS codes,
       array_agg(ST_AsBinary(c.geom) ORDER BY c.code) AS wkbs
FROM areas c JOIN areas p ON p.code = c.parent_code AND p.valid_to IS NULL
WHERE c.valid_to IS NULL AND (%(parent)s::text IS NULL OR c.parent_code = %(parent)s)
GROUP BY c.parent_code, p.geom
ORDER BY c.parent_code
"""


def coverage(
    conn: Connection[Any], topology: TopologySettings, parent: str | None = None
) -> list[Problem]:
    """Problems among the children of `parent` (or of every parent), in a stable order."""
    if parent is not None:
        require_current_code(conn, parent)
    problems: list[Problem] = []
    for fam in conn.execute(FAMILIES_SQL, {"parent": parent}).fetchall():
        kids = [
            (c, shapely.from_wkb(bytes(w))) for c, w in zip(fam["codes"], fam["wkbs"], strict=True)
        ]
        problems += coverage_problems(
            (fam["parent_code"], shapely.from_wkb(bytes(fam["parent_wkb"]))),
            kids,
            topology.boundary_tolerance_m,
            topology.overlap_epsilon_m2,
        )
    _mark_accepted(conn, problems)
    return problems


# The newest acceptance of each (kind, codes) among the problems' codes (GIN index on codes).
ACCEPTED_SQL = """
SELECT DISTINCT ON (kind, codes) kind, codes, source, accepted_by, accepted_at
FROM accepted_problems WHERE codes && %(codes)s
ORDER BY kind, codes, accepted_at DESC
LIMIT 10000
"""


def _mark_accepted(conn: Connection[Any], problems: list[Problem]) -> None:
    if not problems:
        return
    codes = sorted({c for p in problems for c in p.codes})
    accepted = {
        (r["kind"], tuple(r["codes"])): r
        for r in conn.execute(ACCEPTED_SQL, {"codes": codes}).fetchall()
    }
    for p in problems:
        hit = accepted.get((p.kind, tuple(sorted(p.codes))))
        if hit is not None:
            p.extra["accepted"] = {
                "source": hit["source"],
                "by": hit["accepted_by"],
                "at": hit["accepted_at"].isoformat(),
            }


def coverage_geojson(
    conn: Connection[Any], topology: TopologySettings, parent: str | None = None
) -> dict[str, Any]:
    """The coverage problems as a GeoJSON FeatureCollection."""
    return feature_collection(coverage(conn, topology, parent))
