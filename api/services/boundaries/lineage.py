"""Lineage of areas: the codes a split or merge made an area from, and the ones made from it.

Each version written by a split or merge lists the versions it came from (`areas.derived_from`).
Following those links backwards gives an area's ancestors (a merged grid reaches back to the grids
it was merged from, and theirs); following them forwards gives its successors (a split grid
reaches its pieces). Both walks read codes through indexes (the history's gist index on code, the
primary key, the GIN index on derived_from) and stop after MAX_DEPTH generations.
"""

from __future__ import annotations

from typing import Any

import orjson
from psycopg import Connection

from api.errors import NotFound
from gis.features import area_versions_geojson

MAX_DEPTH = 50
MAX_CODES = 1000

# depth > 0: ancestors (generations back), < 0: successors, 0: the area itself.
LINEAGE_SQL = """
WITH RECURSIVE back(code, depth) AS (
    SELECT %(code)s::text, 0
  UNION
    SELECT src.code, b.depth + 1
    FROM back b
    JOIN areas v ON v.code = b.code AND v.derived_from IS NOT NULL
    JOIN areas src ON src.id = ANY(v.derived_from)
    WHERE b.depth < %(max)s
), forth(code, depth) AS (
    SELECT %(code)s::text, 0
  UNION
    SELECT v.code, f.depth - 1
    FROM forth f
    JOIN areas o ON o.code = f.code
    JOIN areas v ON v.derived_from && ARRAY[o.id]
    WHERE f.depth > -%(max)s
)
SELECT code, min(depth) AS depth FROM back GROUP BY code
UNION ALL
SELECT code, max(depth) FROM forth WHERE depth < 0 GROUP BY code
ORDER BY depth DESC, code
LIMIT %(codes)s
"""


def lineage_codes(conn: Connection[Any], code: str) -> dict[str, int]:
    """Codes related to `code` by splits and merges, with their generation (ancestors > 0)."""
    rows = conn.execute(
        LINEAGE_SQL, {"code": code, "max": MAX_DEPTH, "codes": MAX_CODES}
    ).fetchall()
    return {r["code"]: int(r["depth"]) for r in rows}


def history_with_lineage(
    conn: Connection[Any], code: str, *, limit: int, cursor: int | None, with_users: bool = True
) -> bytes:
    """Versions of the area and of its ancestors and successors, oldest first.

    Each feature carries `lineage_depth` (0: this area, 1: what it was made from, 2: what that
    was made from …, -1: what was made from it) and `derived_from` (version ids)."""
    depths = lineage_codes(conn, code)
    body = area_versions_geojson(
        conn, codes=list(depths), limit=limit, cursor=cursor, with_users=with_users
    )
    doc = orjson.loads(body)
    if cursor is None and not doc["features"]:
        raise NotFound(f"No area has ever had code '{code}'.")
    for f in doc["features"]:
        f["properties"]["lineage_depth"] = depths.get(f["properties"]["code"], 0)
    doc["lineage"] = [{"code": c, "depth": d} for c, d in depths.items()]
    return orjson.dumps(doc)
