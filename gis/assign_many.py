"""Many stored incidents assigned again in one statement (a boundary edit, a grid import).

The rules are exactly gis.assign.ASSIGN_SQL's (building, inside, nearest, outside; the routing
rule, else the territorial department; the near-boundary grids), written over a set of incident
points instead of one: every per-point step becomes a LATERAL probe keyed by the incident, and
the steps that depend only on the chosen area (its chain of ancestors, the department routed for
a category) are computed once per distinct area (and category), not once per incident.
tests/test_assign_many.py compares every column with assign_point's, point by point.

The result rows have ASSIGN_SQL's columns plus the incident id, so gis.assign.assignment_from
turns them into the same Assignment objects. A row with no method lies outside every area.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from gis.assign import NEAR_CHAIN_SQL, Assignment, assignment_from

ASSIGN_MANY_SQL = f"""
WITH RECURSIVE
pt AS MATERIALIZED (
    SELECT i.id, i.geom AS g, i.category_code AS category,
           -- degrees per metre at the point's latitude, padded by a tenth (as gis.assign_params)
           %(near_m)s / (111320.0 * greatest(cos(radians(ST_Y(i.geom))), 0.01)) * 1.1 AS near_dx
    FROM incidents i WHERE i.id = ANY(%(ids)s::bigint[])
),
-- per point, one probe each: the building (rule 1) and the lowest area covering it (rule 2:
-- a grid when one covers it, probed first on the grids' own index; else any level)
base AS MATERIALIZED (
    SELECT pt.*, b.id AS building_id, b.name AS building_name, b.address AS building_address,
           b.grid_code AS building_grid, coalesce(g.code, c.code) AS cover_code,
           coalesce(g.level_rank, c.level_rank) AS cover_rank
    FROM pt
    LEFT JOIN LATERAL (
        SELECT b.id, b.name, b.address, b.grid_code FROM buildings b
        WHERE b.grid_code IS NOT NULL AND ST_Covers(b.geom, pt.g)
        ORDER BY b.id LIMIT 1) b ON true
    LEFT JOIN LATERAL (
        SELECT p.code, p.level_rank FROM area_parts p
        WHERE p.level_rank = 4 AND ST_Covers(p.geom, pt.g)
        ORDER BY p.code LIMIT 1) g ON true
    LEFT JOIN LATERAL (
        SELECT p.code, p.level_rank FROM area_parts p
        WHERE g.code IS NULL AND ST_Covers(p.geom, pt.g)
        ORDER BY p.level_rank DESC, p.code LIMIT 1) c ON true
),
-- only the points neither a building nor a grid holds look for the nearest grid (rule 3)
need AS MATERIALIZED (
    SELECT id, g, cover_code FROM base
    WHERE building_id IS NULL AND cover_rank IS DISTINCT FROM 4
),
near AS MATERIALIZED (
    SELECT q.id, q.cover_code, k.code, ST_Distance(k.geom::geography, q.g::geography) AS d
    FROM need q CROSS JOIN LATERAL (
        SELECT p.code, p.geom FROM area_parts p
        WHERE p.level_rank = 4
        ORDER BY p.geom <-> q.g
        LIMIT 8) k
),
near_ok AS MATERIALIZED (
    SELECT DISTINCT ON (n.id) n.id, n.code, n.d
    FROM near n
    WHERE n.d <= %(nearest_m)s
      AND (n.cover_code IS NULL OR EXISTS (
            {NEAR_CHAIN_SQL}
            SELECT 1 FROM anc WHERE anc.code = n.cover_code))
    ORDER BY n.id, n.d, n.code
),
choice AS MATERIALIZED (
    SELECT b.id, b.category, b.g, b.near_dx,
           CASE WHEN b.building_id IS NOT NULL THEN b.building_grid
                WHEN b.cover_rank = 4 THEN b.cover_code
                WHEN o.id IS NOT NULL THEN o.code
                ELSE b.cover_code END AS code,
           CASE WHEN b.building_id IS NOT NULL THEN 'building'
                WHEN b.cover_rank = 4 THEN 'inside'
                WHEN o.id IS NOT NULL THEN 'nearest'
                WHEN b.cover_code IS NOT NULL THEN 'outside' END AS method,
           CASE WHEN b.building_id IS NOT NULL OR b.cover_rank = 4 THEN 0
                WHEN o.id IS NOT NULL THEN o.d
                WHEN b.cover_code IS NOT NULL THEN (SELECT min(n.d) FROM near n WHERE n.id = b.id)
                ELSE 0 END AS distance_m,
           CASE WHEN b.building_id IS NOT NULL THEN jsonb_build_object(
               'id', b.building_id, 'name', b.building_name, 'address', b.building_address)
           END AS building
    FROM base b LEFT JOIN near_ok o ON o.id = b.id
),
up AS (
    SELECT s.code AS start, a.id, a.code, a.name, a.level, a.parent_code, 0 AS depth
    FROM areas a JOIN (SELECT DISTINCT code FROM choice WHERE code IS NOT NULL) s
      ON a.code = s.code
    WHERE a.valid_to IS NULL
    UNION ALL
    SELECT up.start, a.id, a.code, a.name, a.level, a.parent_code, up.depth + 1
    FROM areas a JOIN up ON a.code = up.parent_code
    WHERE a.valid_to IS NULL AND up.depth < 12
),
levels AS (
    SELECT start, jsonb_object_agg(level, jsonb_build_object(
        'code', code, 'name', name, 'version_id', id)) AS levels
    FROM up GROUP BY start
),
fallback AS (
    SELECT DISTINCT ON (up.start) up.start, d.code
    FROM departments d JOIN up ON d.area_code = up.code
    WHERE d.kind = 'territorial' AND up.level IN ('street', 'district')
    ORDER BY up.start, up.depth, d.code
),
routed AS (
    SELECT w.start, w.category, r.id AS rule_id, r.category_prefix, r.area_prefix, r.priority,
           COALESCE(r.department_code, f.code) AS department_code
    FROM (SELECT DISTINCT code AS start, category FROM choice WHERE code IS NOT NULL) w
    LEFT JOIN fallback f ON f.start = w.start
    LEFT JOIN LATERAL (
        SELECT r.* FROM routing_rules r
        WHERE starts_with(w.category, r.category_prefix)
          AND (r.area_prefix = '' OR EXISTS (
                SELECT 1 FROM up WHERE up.start = w.start AND starts_with(up.code, r.area_prefix)))
        ORDER BY length(r.area_prefix) DESC, length(r.category_prefix) DESC,
                 r.priority DESC, r.id
        LIMIT 1
    ) r ON true
),
routes AS (
    SELECT r.start, r.category, jsonb_build_array(jsonb_build_object(
        'category', r.category, 'category_name', NULL,
        'department', CASE WHEN d.code IS NULL THEN NULL
                      ELSE jsonb_build_object('code', d.code, 'name', d.name) END,
        'rule', CASE WHEN r.rule_id IS NULL THEN NULL ELSE jsonb_build_object(
            'id', r.rule_id, 'category_prefix', r.category_prefix,
            'area_prefix', r.area_prefix, 'priority', r.priority) END)) AS routes
    FROM routed r LEFT JOIN departments d ON d.code = r.department_code
)
SELECT ch.id, ch.method, ch.code AS responsible_area_code, ch.distance_m, l.levels, ch.building,
       coalesce(r.routes, '[]'::jsonb) AS routes,
       coalesce(nb.near_boundary, '[]'::jsonb) AS near_boundary, false AS swapped_inside
FROM choice ch
LEFT JOIN levels l ON l.start = ch.code
LEFT JOIN routes r ON r.start = ch.code AND r.category = ch.category
-- the other grids within near_m: one probe of the grids' index per point
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('code', n.code, 'distance_m', round(n.d::numeric, 2))
                     ORDER BY n.d, n.code) AS near_boundary
    FROM (
        SELECT p.code, min(ST_Distance(p.geom::geography, ch.g::geography)) AS d
        FROM area_parts p
        WHERE p.level_rank = 4 AND p.geom && ST_Expand(ch.g, ch.near_dx, %(near_dy)s)
          AND p.code IS DISTINCT FROM ch.code
        GROUP BY p.code
        HAVING min(ST_Distance(p.geom::geography, ch.g::geography)) <= %(near_m)s) n
) nb ON true
"""  # noqa: S608 (NEAR_CHAIN_SQL is a constant)


def assign_incidents(
    conn: Connection[Any], ids: list[int], *, nearest_m: float, near_m: float
) -> dict[int, Assignment | None]:
    """Each incident's assignment under the current areas (None: outside every area), by id."""
    if not ids:
        return {}
    # A custom plan: the generic plan the pool forces (plan_cache_mode) guesses ten ids and
    # joins thousands by nested loops (5,000 incidents: 17 s instead of 0.3 s). For the rest of
    # the caller's transaction, so the evaluation trigger's refresh of their facts is planned
    # for their number too (docs/performance.md, 2026-12-05).
    conn.execute("SET LOCAL plan_cache_mode = auto")
    params = {"ids": ids, "nearest_m": nearest_m, "near_m": near_m}
    params["near_dy"] = near_m / 110_574.0 * 1.1  # as gis.assign.assign_params
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(ASSIGN_MANY_SQL, params).fetchall()
    return {
        int(rec["id"]): None if rec["method"] is None else assignment_from(rec, 0.0, 0.0)
        for rec in rows
    }
