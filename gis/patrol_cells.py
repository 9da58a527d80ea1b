"""Spatial SQL of patrol coverage kept current: lattices of cells, pieces of tracks, grid-days.

A period's covered share is the share of the grid (or of its streets) within `buffer_m` of the
*union* of the period's tracks. Computing that union from the fixes on every request costs ≈ 37 s
per day of 5,000 officers, so the coverage is folded as it is walked (docs/patrols.md, Coverage):

- Each grid version has a **lattice** of square cells (GRIDGOV_PATROL_CELL_M, ≈ 10 m) over its
  bounding box, numbered row by row from the south-west (cell k = row × ncols + col). `mask`
  marks the cells whose centre lies in the grid, `roads` those of them holding a street of the
  base map (sampled every half cell along the streets).
- A **part** is what one patrol walked in one grid on one local day within a range of 15-minute
  pieces (`chunk` … `chunk_to`, epoch seconds / 900): its distance and time (segments as in
  gis.patrols), the cells whose centre lies within `buffer_m` of its track, and — exactly, from
  geometry — the area of the grid and the length of its streets within `buffer_m` of the track.
  A piece still being walked is a range of its own, folded again each time fixes come; pieces
  folded together later (a backlog, a late upload, a refold) form one range, so that a track
  walked over and over is buffered once (api.services.patrols.coverage.fold chooses the ranges).
- A **grid-day** sums its parts and ORs their cells. A period ORs its days' cells.

The covered area of a union U of parts is estimated as |U's cells| × Σ exact area / Σ cells of
the parts (a ratio estimator: the cells only measure how much the parts overlap). With one
part, or parts that do not overlap, it is the exact area; the same holds for streets.
"""

from __future__ import annotations

CHUNK_S = 900  # a part's piece of time: 15 minutes (every UTC offset in use is a multiple)

# The covered share from a union of cells {u} with the sums of its parts, on lattice {l}:
# streets when the grid holds some, else area.
_SHARE = """CASE WHEN {l}.road_len_m > 0 THEN least(1.0,
        CASE WHEN {road_cells} > 0 THEN bit_count({u} & {l}.roads) * {road_m} / {road_cells}
             ELSE {road_m} END / {l}.road_len_m)
     ELSE least(1.0, CASE WHEN {reach_cells} > 0 THEN bit_count({u}) * {reach_m2} / {reach_cells}
                          ELSE {reach_m2} END / nullif({l}.area_m2, 0)) END"""


def share_sql(u: str, lattice: str, sums: str) -> str:
    """The share expression over union `u`, lattice alias `lattice`, sums prefixed `sums`."""
    return _SHARE.format(
        u=u,
        l=lattice,
        road_m=f"{sums}road_m",
        road_cells=f"{sums}road_cells",
        reach_m2=f"{sums}reach_m2",
        reach_cells=f"{sums}reach_cells",
    )


# Pieces whose fixes changed: taken (and forgotten) by one fold, %(limit)s at most, by patrol
# (its consecutive pieces fold as one range).
TAKE_DIRTY_SQL = """
DELETE FROM patrol_cover_dirty d
USING (SELECT patrol_id, chunk FROM patrol_cover_dirty ORDER BY patrol_id, chunk
       LIMIT %(limit)s FOR UPDATE SKIP LOCKED) x
WHERE d.patrol_id = x.patrol_id AND d.chunk = x.chunk
RETURNING d.patrol_id, d.chunk"""

# Every stored fix's piece marked (migration 0033 and `gridgov patrols fold --all`).
MARK_ALL_SQL = """
INSERT INTO patrol_cover_dirty (patrol_id, chunk)
SELECT DISTINCT patrol_id, floor(extract(epoch FROM at) / 900)::int FROM patrol_fixes
ON CONFLICT (patrol_id, chunk) DO UPDATE SET marks = patrol_cover_dirty.marks + 1"""

# The ranges of pieces to fold: patrol, first and last piece.
_TAKEN = "unnest(%(patrols)s::bigint[], %(c0s)s::int[], %(c1s)s::int[]) AS d(patrol_id, c0, c1)"

# The stored parts overlapping the ranges (a range folded again takes in every part it touches).
OVERLAPS_SQL = (
    "SELECT DISTINCT p.patrol_id, p.chunk, p.chunk_to FROM patrol_cover_parts p JOIN "  # noqa: S608
    + _TAKEN
    + " ON p.patrol_id = d.patrol_id AND p.chunk <= d.c1 AND p.chunk_to >= d.c0"
)

# The street cells (`rd.roads`) and length (`rl.len`) of lattice `m` (with its grid `m.geom`).
_ROADS = """
LEFT JOIN LATERAL (
    SELECT bit_or(set_bit(m.mask # m.mask, k.k, 1)) AS roads
    FROM (SELECT DISTINCT c.j * m.ncols + c.i AS k
          FROM basemap_roads b
          CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(
              ST_Intersection(b.geom, m.geom), least(m.dx, m.dy) / 2)) p
          CROSS JOIN LATERAL (SELECT floor((ST_X(p.geom) - m.x0) / m.dx)::int AS i,
                                     floor((ST_Y(p.geom) - m.y0) / m.dy)::int AS j) c
          WHERE b.geom && m.geom AND ST_Intersects(b.geom, m.geom)
            AND c.i BETWEEN 0 AND m.ncols - 1 AND c.j BETWEEN 0 AND m.nrows - 1) k
    WHERE get_bit(m.mask, k.k) = 1
) rd ON true
LEFT JOIN LATERAL (
    SELECT sum(ST_Length(ST_Intersection(b.geom, m.geom)::geography)) AS len
    FROM basemap_roads b WHERE b.geom && m.geom AND ST_Intersects(b.geom, m.geom)
) rl ON true
"""

# A lattice for each current grid the ranges' fixes lie in that has none yet.
LATTICES_SQL = (
    """
WITH need AS (
    SELECT DISTINCT f.grid_code FROM """  # noqa: S608 (constants only)
    + _TAKEN
    + """
    JOIN patrol_fixes f ON f.patrol_id = d.patrol_id
     AND f.at >= to_timestamp(d.c0 * 900.0) AND f.at < to_timestamp((d.c1 + 1) * 900.0)
    WHERE f.grid_code IS NOT NULL
),
g AS (
    SELECT a.id, a.code, a.geom, s.dx, s.dy,
           floor(ST_XMin(a.geom) / s.dx) * s.dx AS x0, floor(ST_YMin(a.geom) / s.dy) * s.dy AS y0
    FROM areas a JOIN need ON need.grid_code = a.code
    CROSS JOIN LATERAL (
        SELECT %(cell_m)s / 111195.0 / cos(radians((ST_YMin(a.geom) + ST_YMax(a.geom)) / 2))
                   AS dx0, %(cell_m)s / 111195.0 AS dy0) c0
    CROSS JOIN LATERAL (
        SELECT greatest(1.0, sqrt((ST_XMax(a.geom) - ST_XMin(a.geom) + 2 * c0.dx0)
                                  * (ST_YMax(a.geom) - ST_YMin(a.geom) + 2 * c0.dy0)
                                  / (c0.dx0 * c0.dy0) / %(max_cells)s)) AS k) c1
    CROSS JOIN LATERAL (SELECT c0.dx0 * c1.k AS dx, c0.dy0 * c1.k AS dy) s
    WHERE a.valid_to IS NULL AND a.level = 'grid'
      AND NOT EXISTS (SELECT 1 FROM patrol_lattices l WHERE l.area_id = a.id)
),
m AS (
    SELECT g.*, n.ncols, n.nrows, mk.mask
    FROM g
    CROSS JOIN LATERAL (
        SELECT floor((ST_XMax(g.geom) - g.x0) / g.dx)::int + 1 AS ncols,
               floor((ST_YMax(g.geom) - g.y0) / g.dy)::int + 1 AS nrows) n
    CROSS JOIN LATERAL (
        SELECT string_agg(CASE WHEN ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(
                   g.x0 + (i + 0.5) * g.dx, g.y0 + (j + 0.5) * g.dy), 4326))
                 THEN '1' ELSE '0' END, '' ORDER BY j, i)::varbit AS mask
        FROM generate_series(0, n.nrows - 1) j, generate_series(0, n.ncols - 1) i) mk
)
INSERT INTO patrol_lattices
    (area_id, grid_code, x0, y0, dx, dy, ncols, nrows, mask, roads, area_m2, road_len_m)
SELECT m.id, m.code, m.x0, m.y0, m.dx, m.dy, m.ncols, m.nrows, m.mask,
       coalesce(rd.roads, m.mask # m.mask), ST_Area(m.geom::geography), coalesce(rl.len, 0)
FROM m
"""
    + _ROADS
    + """
ON CONFLICT (area_id) DO NOTHING"""
)

# The ranges' old parts, gone; their grid-days are to be summed again.
DELETE_PARTS_SQL = (
    "DELETE FROM patrol_cover_parts p USING "  # noqa: S608 (constants only)
    + _TAKEN
    + " WHERE p.patrol_id = d.patrol_id AND p.chunk <= d.c1 AND p.chunk_to >= d.c0"
    + " RETURNING p.grid_code, p.day"
)

# The ranges' parts from their fixes. Segments as gis.patrols.SEGMENTS_CTE (clean fixes,
# at most %(max_seg)s apart; the grid and local day of the first fix), a range holding the
# segments that start in it. The track and its reach as gis.patrols does for a day:
# - the track: each segment once (snapped to 1e-5° ≈ 1 m, either direction), merged, simplified;
# - the reach: the union of the buffers of its pieces of 8 consecutive segments (GEOS buffers a
#   long line that crosses itself 5-15 times slower; docs/performance.md, 2026-12-06).
PARTS_SQL = (
    "WITH seg AS ("  # noqa: S608 (constants only)
    + """
    SELECT d.patrol_id, d.c0, d.c1, s.prev_grid AS grid_code,
           (s.prev_at AT TIME ZONE %(tz)s)::date AS day,
           ST_Distance(s.prev_geom::geography, s.geom::geography) AS d,
           extract(epoch FROM s.at - s.prev_at) AS secs,
           ST_MakeLine(s.prev_geom, s.geom) AS line
    FROM """
    + _TAKEN
    + """
    CROSS JOIN LATERAL (
        SELECT f.at, f.geom, lag(f.at) OVER w AS prev_at, lag(f.geom) OVER w AS prev_geom,
               lag(f.grid_code) OVER w AS prev_grid
        FROM patrol_fixes f
        WHERE f.patrol_id = d.patrol_id AND NOT f.inaccurate AND NOT f.jump
          AND f.at >= to_timestamp(d.c0 * 900.0) - make_interval(secs => %(max_seg)s)
          AND f.at < to_timestamp((d.c1 + 1) * 900.0) + make_interval(secs => %(max_seg)s)
        WINDOW w AS (ORDER BY f.at, f.client_id)
    ) s
    WHERE s.prev_at >= to_timestamp(d.c0 * 900.0)
      AND s.prev_at < to_timestamp((d.c1 + 1) * 900.0)
      AND s.at - s.prev_at <= make_interval(secs => %(max_seg)s)
      AND s.prev_grid IS NOT NULL
),
per AS (
    SELECT patrol_id, c0, c1, grid_code, day, sum(d) AS distance_m, sum(secs) AS seconds,
           ST_Simplify(ST_LineMerge(ST_Collect(
               DISTINCT ST_Normalize(ST_SnapToGrid(line, 1e-5)))), 1e-5) AS track
    FROM seg GROUP BY 1, 2, 3, 4, 5
)
INSERT INTO patrol_cover_parts AS t
    (patrol_id, chunk, chunk_to, grid_code, day, lattice_id, distance_m, seconds, cells,
     reach_m2, reach_cells, road_m, road_cells)
SELECT per.patrol_id, per.c0, per.c1, per.grid_code, per.day, l.id, per.distance_m, per.seconds,
       c.cells, ST_Area(x.inside::geography), bit_count(c.cells), coalesce(r.len, 0),
       bit_count(c.cells & l.roads)
FROM per
JOIN areas g ON g.code = per.grid_code AND g.valid_to IS NULL
JOIN patrol_lattices l ON l.area_id = g.id
CROSS JOIN LATERAL (
    SELECT ST_Union(ARRAY(
        SELECT ST_Buffer(ST_LineMerge(ST_Collect(d.geom))::geography, %(buffer_m)s,
                         'quad_segs=4')::geometry
        FROM ST_DumpSegments(per.track) d
        GROUP BY d.path[1:array_length(d.path, 1) - 1],
                 (d.path[array_length(d.path, 1)] - 1) / 8)) AS reach
    OFFSET 0  -- computed once: pulled up, the union ran again for every cell tested
) rc
CROSS JOIN LATERAL (SELECT ST_Intersection(rc.reach, g.geom) AS inside OFFSET 0) x
CROSS JOIN LATERAL (
    SELECT coalesce(bit_or(set_bit(l.mask # l.mask, j.j * l.ncols + k.i, 1)), l.mask # l.mask)
               AS cells
    FROM generate_series(greatest(0, floor((ST_XMin(rc.reach) - l.x0) / l.dx)::int),
                         least(l.ncols - 1, floor((ST_XMax(rc.reach) - l.x0) / l.dx)::int)) k(i)
    CROSS JOIN LATERAL generate_series(
        greatest(0, floor((ST_YMin(rc.reach) - l.y0) / l.dy)::int),
        least(l.nrows - 1, floor((ST_YMax(rc.reach) - l.y0) / l.dy)::int)) j(j)
    WHERE get_bit(l.mask, j.j * l.ncols + k.i) = 1
      AND ST_Intersects(rc.reach, ST_SetSRID(ST_MakePoint(
          l.x0 + (k.i + 0.5) * l.dx, l.y0 + (j.j + 0.5) * l.dy), 4326))
) c
LEFT JOIN LATERAL (
    SELECT sum(ST_Length(ST_Intersection(b.geom, x.inside)::geography)) AS len
    FROM basemap_roads b
    WHERE l.road_len_m > 0 AND b.geom && x.inside AND ST_Intersects(b.geom, x.inside)
) r ON true
RETURNING t.grid_code, t.day"""
)

# Grid-days (%(grids)s, %(days)s) summed again from their parts: distance, time, patrols, the
# union of the cells and the sums of the parts on the newest lattice, and the day's share. A
# grid-day left without parts is deleted (unless it holds figures of days pruned before
# migration 0033: no cells).
GRID_DAYS_SQL = (
    """
WITH t AS (SELECT DISTINCT grid_code, day
           FROM unnest(%(grids)s::text[], %(days)s::date[]) AS t(grid_code, day)),
p AS (
    SELECT p.*, max(p.lattice_id) OVER (PARTITION BY p.grid_code, p.day) AS lmax
    FROM patrol_cover_parts p JOIN t USING (grid_code, day)
),
agg AS (
    SELECT grid_code, day, sum(distance_m) AS distance_m, sum(seconds) AS seconds,
           count(DISTINCT patrol_id)::int AS patrols, max(lmax) AS lattice_id,
           bit_or(cells) FILTER (WHERE lattice_id = lmax) AS cells,
           sum(reach_m2) FILTER (WHERE lattice_id = lmax) AS reach_m2,
           sum(reach_cells) FILTER (WHERE lattice_id = lmax)::int AS reach_cells,
           sum(road_m) FILTER (WHERE lattice_id = lmax) AS road_m,
           sum(road_cells) FILTER (WHERE lattice_id = lmax)::int AS road_cells
    FROM p GROUP BY grid_code, day
),
gone AS (
    DELETE FROM patrol_grid_days d USING t
    WHERE d.grid_code = t.grid_code AND d.day = t.day AND d.cells IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM agg WHERE agg.grid_code = d.grid_code AND agg.day = d.day)
)
INSERT INTO patrol_grid_days AS d
    (grid_code, day, distance_m, seconds, patrols, covered_share, lattice_id, cells,
     reach_m2, reach_cells, road_m, road_cells)
SELECT agg.grid_code, agg.day, agg.distance_m, agg.seconds, agg.patrols, """  # noqa: S608
    + share_sql("agg.cells", "l", "agg.")
    + """,
       agg.lattice_id, agg.cells, agg.reach_m2, agg.reach_cells, agg.road_m, agg.road_cells
FROM agg JOIN patrol_lattices l ON l.id = agg.lattice_id
ON CONFLICT (grid_code, day) DO UPDATE SET
    distance_m = excluded.distance_m, seconds = excluded.seconds, patrols = excluded.patrols,
    covered_share = excluded.covered_share, lattice_id = excluded.lattice_id,
    cells = excluded.cells, reach_m2 = excluded.reach_m2, reach_cells = excluded.reach_cells,
    road_m = excluded.road_m, road_cells = excluded.road_cells"""
)

# Per grid (and day when %(by_day)s) over local days [%(b0)s, %(b1)s): distance, time, patrols
# (summed over the days) and the covered share of the union of the days' cells on the grid's
# newest lattice of the period; days on an older lattice, or pruned before migration 0033,
# contribute their own share as a lower bound.
PERIOD_SQL = (
    """
WITH r AS (
    SELECT d.*, max(d.lattice_id) OVER (PARTITION BY d.grid_code) AS lmax
    FROM patrol_grid_days d WHERE d.day >= %(b0)s AND d.day < %(b1)s
),
agg AS (
    SELECT grid_code, CASE WHEN %(by_day)s THEN day END AS day,
           sum(distance_m) AS distance_m, sum(seconds) AS seconds, sum(patrols)::int AS patrols,
           max(lmax) AS lmax,
           bit_or(cells) FILTER (WHERE lattice_id = lmax) AS u,
           sum(reach_m2) FILTER (WHERE lattice_id = lmax) AS reach_m2,
           sum(reach_cells) FILTER (WHERE lattice_id = lmax) AS reach_cells,
           sum(road_m) FILTER (WHERE lattice_id = lmax) AS road_m,
           sum(road_cells) FILTER (WHERE lattice_id = lmax) AS road_cells,
           max(covered_share) FILTER (WHERE lattice_id IS NULL OR lattice_id <> lmax) AS other
    FROM r GROUP BY 1, 2
)
SELECT agg.grid_code, agg.day, agg.distance_m, agg.seconds, agg.patrols,
       greatest(agg.other, CASE WHEN agg.u IS NOT NULL THEN """  # noqa: S608 (constants only)
    + share_sql("agg.u", "l", "agg.")
    + """ END) AS covered_share
FROM agg LEFT JOIN patrol_lattices l ON l.id = agg.lmax
ORDER BY agg.grid_code, agg.day"""
)


# Streets imported after lattices were made: every lattice's street cells and length again.
ROADS_SQL = (
    """
UPDATE patrol_lattices t SET roads = coalesce(rd.roads, m.mask # m.mask),
                             road_len_m = coalesce(rl.len, 0)
FROM (SELECT l.*, a.geom FROM patrol_lattices l JOIN areas a ON a.id = l.area_id) m
"""  # noqa: S608 (constants only)
    + _ROADS
    + " WHERE t.id = m.id"
)
