"""Hotspots: space-time clusters of incidents (DBSCAN in metres), as GeoJSON built in SQL.

Incidents reported in a time window are clustered with `ST_ClusterDBSCAN` on coordinates in
metres: each point is projected to its own WGS 84 / UTM zone (EPSG:326zz north, 327zz south,
zone = ⌊(lon + 180) / 6⌋ + 1), and clustering runs per zone (`PARTITION BY`), so `radius_m` is a
true distance (UTM scale error < 0.1 % inside a zone) and never raw degrees. A cluster that would
straddle a zone boundary (a meridian at a multiple of 6°, e.g. 114°E or 120°E) is split in two
there. Hull and centre are computed in the zone's metres and transformed back to EPSG:4326.

Points enter the clustering in report order (`reported_at`, then id). DBSCAN gives a border point
(within `radius_m` of core points of two clusters, itself not a core point) to the cluster that
reaches it first, so the order decides it: a fixed order gives the same answer on every call,
whatever plan PostgreSQL chose (a parallel scan returns rows in any order).

The features are built as `json` (text: no binary `jsonb` to build and print again) and passed
on as the database wrote them (no parse and re-serialisation of ≈ 1.3 MB in Python for a week
of a city).

The answer is a function of the incidents in the window (after the scope and category filters)
through their id, public id, point, category, report time and whether they are closed, and of
the grids and category names. `HOTSPOTS_SQL` first reads just those (the window's rows by the
`reported_at` index) into a fingerprint: a count and a 64-bit XOR of one hash per incident, and
the row count and the sum of the row versions (`xmin`) of `areas`, `area_parts` and
`categories`. Given the fingerprint of an earlier answer (`seen`) that is still equal, it stops
there (≈ 1/10 of the clustering's cost) and the earlier answer is served again
(api/services/evaluation/early_warning.py); otherwise it clusters the very rows it printed (one
statement, one snapshot) and returns their fingerprint with the answer.

When it has changed, most clusters usually have not: a new report, a close or an incident
leaving the window touches one or two of ≈ 600. A cluster's feature is a function of its
incidents (through the same columns) and of the grids and category names, so each cluster gets a
print: its count and the XOR of its incidents' hashes (a false match needs a 64-bit collision,
as for the fingerprint). Given the prints of an earlier answer's clusters and that answer's
grids-and-names print, the statement builds features only for clusters it has not seen (hull,
centre, categories, incident list, grids touched: about half of the statement's cost) and takes
the others' from the earlier answer, under their new rank. The clustering itself always runs on
every incident of the window. Points enter the hull in report order, so even a hull of two or
three points (a LineString) comes out the same from the same incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import Connection, sql

from gis.window import Window

# What the answer depends on, per incident: one 64-bit hash of every input column (seeded hashes
# chained, native types: no text formatting). Report time in UTC (injective, unlike local time).
ROW_HASH = """hashint8extended(i.id, hashtextextended(i.public_id, hashtextextended(i.category_code,
        hashfloat8extended(ST_X(i.geom), hashfloat8extended(ST_Y(i.geom),
        timestamp_hash_extended(i.reported_at AT TIME ZONE 'UTC',
                                (i.status = 'closed')::int::int8))))))"""

# The incidents a hotspot call clusters (the window, not rejected, the category, the scope).
WINDOW = """i.reported_at >= %(since)s AND i.reported_at < %(until)s
      AND i.status <> 'rejected'
      AND (%(category)s::text IS NULL OR starts_with(i.category_code, %(category)s::text))
      AND {scope}"""

# Grids (parts and names) and category names: any insert, update or delete changes a count or
# the sum of the row versions. ≈ 3 ms for 10,000 grids.
REFERENCE_PRINT = """concat_ws(':',
        (SELECT count(*) || '/' || coalesce(sum(xmin::text::int8), 0) FROM areas),
        (SELECT count(*) || '/' || coalesce(sum(xmin::text::int8), 0) FROM area_parts),
        (SELECT count(*) || '/' || coalesce(sum(xmin::text::int8), 0) FROM categories))"""

# One row of the fingerprint (rank 0), then one row per cluster in rank order: its print and,
# unless the caller already holds its feature (`known` prints, with the same grids and category
# names), the feature built here, as JSON text without its id (which is the rank's). When the
# fingerprint equals `seen` (the caller's answer is still the answer) only its row comes back:
# the clustering's input is empty then (a one-time filter), so nothing past the scan runs.
HOTSPOTS_SQL = """
WITH pts AS MATERIALIZED (
    SELECT i.id, i.public_id, i.category_code, i.reported_at, i.status, i.geom, u.utm,
           {row_hash} AS h
    FROM incidents i
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Y(i.geom) >= 0 THEN 32600 ELSE 32700 END
                   + least(60, floor((ST_X(i.geom) + 180) / 6)::int + 1) AS utm) u
    WHERE {window}
),
refs AS MATERIALIZED (SELECT {refs} AS refs),
print AS MATERIALIZED (
    SELECT count(*) AS n, coalesce(bit_xor({row_hash}), 0) AS h, (SELECT refs FROM refs) AS refs
    FROM incidents i WHERE {window}
),
clustered AS MATERIALIZED (
    SELECT c.id, c.public_id, c.category_code, c.reported_at, c.status, c.utm, c.xy, c.h, c.cid
    FROM (
        SELECT p.*, ST_ClusterDBSCAN(p.xy, eps := %(radius)s, minpoints := %(min_count)s)
                        OVER (PARTITION BY p.utm ORDER BY p.reported_at, p.id) AS cid
        FROM (SELECT pts.*, ST_Transform(pts.geom, pts.utm) AS xy FROM pts
              WHERE (SELECT (n, h, refs) IS DISTINCT FROM
                            (%(seen_n)s::int8, %(seen_h)s::int8, %(seen_refs)s::text)
                     FROM print)) p) c
    WHERE c.cid IS NOT NULL
),
-- every cluster: what ranks it, and its print (count and XOR of its incidents' hashes)
ranked AS MATERIALIZED (
    SELECT g.*, row_number() OVER (ORDER BY g.n DESC, g.last_at DESC, g.utm, g.cid) AS rank,
           (SELECT refs FROM refs) = %(seen_refs)s
           -- a hashed set: thousands of clusters (small radius, long window) stay linear
           AND g.print IN (SELECT unnest(%(known)s::int8[])) AS known
    FROM (SELECT utm, cid, count(*) AS n, max(reported_at) AS last_at,
                 hashint8extended(bit_xor(h), count(*)) AS print
          FROM clustered GROUP BY utm, cid) g
),
-- the incidents of the clusters whose features are built here
members AS MATERIALIZED (
    SELECT c.*, r.rank FROM clustered c JOIN ranked r USING (utm, cid) WHERE NOT r.known
),
hot AS MATERIALIZED (
    SELECT rank, utm, n, open_n, first_at, last_at, ST_Transform(hull_xy, 4326) AS hull,
           ST_Area(hull_xy) AS area_m2, centre_xy, ids
    FROM (SELECT rank, utm, n, open_n, first_at, last_at, ST_ConvexHull(xys) AS hull_xy,
                 ST_Centroid(xys) AS centre_xy, ids
          FROM (SELECT rank, utm, count(*) AS n,
                       count(*) FILTER (WHERE status <> 'closed') AS open_n,
                       min(reported_at) AS first_at, max(reported_at) AS last_at,
                       ST_Collect(xy ORDER BY reported_at, id) AS xys,
                       json_agg(public_id ORDER BY reported_at, id) AS ids
                FROM members
                GROUP BY rank, utm) m) h
),
-- counted by code first (hashed), the names joined to the counts
cats AS (
    SELECT x.rank, json_agg(json_build_object('code', x.code, 'name', k.name, 'count', x.n)
                            ORDER BY x.n DESC, x.code) AS categories
    FROM (SELECT rank, category_code AS code, count(*) AS n
          FROM members GROUP BY rank, category_code) x
    JOIN categories k ON k.code = x.code
    GROUP BY x.rank
),
-- grids the hull touches, for every hull in one join: the indexable && on grid parts first,
-- then the exact test
grids AS (
    SELECT rank, json_agg(json_build_object('code', code, 'name', name) ORDER BY code) AS grids
    FROM (SELECT DISTINCT h.rank, a.code, a.name
          FROM hot h
          JOIN area_parts p ON p.level_rank = 4 AND p.geom && h.hull
                               AND ST_Intersects(p.geom, h.hull)
          JOIN areas a ON a.id = p.area_id) g
    GROUP BY rank
)
SELECT 0::int8 AS rank, NULL::int8 AS print, NULL::text AS feature, n, h, refs FROM print
UNION ALL
SELECT r.rank, r.print, CASE WHEN NOT r.known THEN json_build_object(
    'geometry', ST_AsGeoJSON(h.hull, 7)::json,
    'properties', json_build_object(
        'count', h.n, 'open', h.open_n,
        'first_at', h.first_at, 'last_at', h.last_at,
        'categories', c.categories, 'incidents', h.ids,
        'centroid', ST_AsGeoJSON(ST_Transform(h.centre_xy, 4326), 7)::json,
        'area_m2', round(h.area_m2::numeric, 1), 'epsg', h.utm,
        'grids', coalesce(g.grids, '[]'::json)))::text END, NULL, NULL, NULL
FROM ranked r LEFT JOIN hot h USING (rank) LEFT JOIN cats c USING (rank)
LEFT JOIN grids g USING (rank)
ORDER BY rank
"""


# (incidents clustered, XOR of their hashes, grids and categories): equal prints, equal answers
Fingerprint = tuple[int, int, str]


def _statement(template: str, scope: sql.Composable) -> sql.Composed:
    """`template` with the shared pieces (window with the caller's scope, row hash, grids and
    categories print) filled in."""
    return sql.SQL(template).format(
        window=sql.SQL(WINDOW).format(scope=scope),
        row_hash=sql.SQL(ROW_HASH),
        refs=sql.SQL(REFERENCE_PRINT),
    )


def _plan_custom(conn: Connection[Any]) -> None:
    # The app's pool plans every parameterised statement generically (plan_cache_mode, for the
    # hot intake statements); the clustering's generic plan took 3.8-4.7 s where a custom plan
    # for the actual window and scope takes 0.2 s (10,000 incidents, docs/performance.md).
    # No parallel workers either: for the ≈ 17,000 rows of a week a worker saved no time and cost
    # ≈ 25 ms of CPU per call (its start and the rows passed to the leader). No merge joins: with
    # every cluster known, a merge join still sorted all clustered rows to find none (8 ms) where
    # a hash join on the empty side stops at once (docs/performance.md, 2026-12-05 (night)).
    # SET LOCAL: for this transaction only.
    conn.execute(
        "SET LOCAL plan_cache_mode = auto; SET LOCAL max_parallel_workers_per_gather = 0;"
        " SET LOCAL enable_mergejoin = off"
    )


@dataclass(frozen=True)
class Hotspots:
    """An answer: the features as JSON text (a list), the fingerprint of the rows they were
    clustered from, and where each cluster's feature lies in the text by the cluster's print,
    less its id (`{"type" : "Feature", "id" : "H12", ` comes before it)."""

    text: bytes
    fingerprint: Fingerprint
    bodies: dict[int, tuple[int, int]]  # cluster print → start, end of its feature's body
    reused: int = 0  # features taken from the answer passed as `reuse`

    def body(self, cluster: int) -> bytes:
        start, end = self.bodies[cluster]
        return self.text[start:end]


def hotspot_features(
    conn: Connection[Any],
    window: Window,
    *,
    radius_m: float,
    reuse: Hotspots | None = None,
) -> Hotspots:
    """Clusters of ≥ `min_count` incidents of the window (DBSCAN core: that many within
    `radius_m`), as the
    JSON text of a list of GeoJSON features, and the fingerprint of the rows they came from.

    With `reuse` (an earlier answer for the same scope and parameters): when the fingerprint of
    what would be clustered now is its own, `reuse` itself, for the cost of reading the window
    (no clustering); otherwise a cluster with the same print as one of its clusters, while the
    grids and category names are the same, takes that cluster's feature from it instead of
    building it again (see the module doc)."""
    _plan_custom(conn)
    seen = reuse.fingerprint if reuse is not None else (-1, 0, "")  # -1: no count is
    rows = conn.execute(
        _statement(HOTSPOTS_SQL, window.scope),
        {
            **window.params(),
            "radius": radius_m,
            "seen_n": seen[0],
            "seen_h": seen[1],
            "seen_refs": seen[2],
            "known": list(reuse.bodies) if reuse is not None else [],
        },
    ).fetchall()
    head, clusters = rows[0], rows[1:]
    fingerprint = (int(head["n"]), int(head["h"]), str(head["refs"]))
    if reuse is not None and fingerprint == reuse.fingerprint:
        return reuse  # unchanged: nothing was clustered
    parts: list[bytes] = [b"["]
    bodies: dict[int, tuple[int, int]] = {}
    size, reused = 1, 0
    for k, row in enumerate(clusters):
        print_ = int(row["print"])
        if row["feature"] is None:  # known: the earlier answer's body
            assert reuse is not None
            body = reuse.body(print_)
            reused += 1
        else:  # '{"geometry" : …}' less its opening brace
            body = row["feature"].encode()[1:]
        lead = (b", " if k else b"") + b'{"type" : "Feature", "id" : "H%d", ' % row["rank"]
        parts += (lead, body)
        size += len(lead)
        bodies[print_] = (size, size + len(body))
        size += len(body)
    parts.append(b"]")
    return Hotspots(b"".join(parts), fingerprint, bodies, reused)
