"""The patrol benchmark's officers and their walks (bench/patrol.py): one officer per other grid
of the synthetic district, walking a serpentine inside it, a fix every FIX_S seconds; the
officers, their tokens and patrols made in SQL, and the rest of a day's walk written in SQL.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import psycopg

from api.services.identity.auth import TOKEN_PREFIX, hash_token
from bench.synthetic import DX, DY, X0, Y0

STEP_M, ROW_M, MARGIN_M, LANE_M = 14.0, 15.0, 5.0, 90.0  # the walk inside a ≈ 100 m grid
FIX_S = 10  # a fix every 10 s
M_LON, M_LAT = DX / 99.9, DY / 99.5  # degrees per metre at 39.9N (bench/synthetic.py)
TOKEN = TOKEN_PREFIX + "bench-patrol-"


@dataclass
class Officer:
    patrol: int
    token: str
    i: int
    j: int
    step: int = 0


def walk_point(i: int, j: int, step: int) -> tuple[float, float]:
    """Where an officer of grid cell (i, j) is at `step`: a serpentine inside the cell."""
    d = step * STEP_M
    u = d % (2 * LANE_M)
    x = MARGIN_M + (u if u < LANE_M else 2 * LANE_M - u)
    y = MARGIN_M + (int(d // LANE_M) * ROW_M) % LANE_M
    return X0 + i * DX + x * M_LON, Y0 + j * DY + y * M_LAT


def make_officers(conn: psycopg.Connection[Any], n: int, start: dt.datetime) -> list[Officer]:
    """Officer k walks grid cell 2k (every other grid); users, tokens and patrols in SQL."""
    cells = conn.execute(
        "SELECT code, round((ST_XMin(geom) - %s) / %s)::int AS i, "
        "round((ST_YMin(geom) - %s) / %s)::int AS j FROM areas WHERE level = 'grid'",
        (X0, DX, Y0, DY),
    ).fetchall()
    code_at = {(r["i"], r["j"]): r["code"] for r in cells}
    side = int(max(r["i"] for r in cells)) + 1
    spots = [((2 * k) % side, (2 * k) // side % side) for k in range(n)]
    tokens = [f"{TOKEN}{k:06d}-{os.urandom(16).hex()}" for k in range(n)]
    with conn.transaction():
        rows = conn.execute(
            "INSERT INTO users (name, role, area_code) "
            "SELECT 'officer-' || o, 'officer', a FROM unnest(%s::text[]) WITH ORDINALITY u(a, o) "
            "ORDER BY o RETURNING id, name, area_code",
            ([code_at[s] for s in spots],),
        ).fetchall()
        rows = sorted(rows, key=lambda r: int(r["name"].split("-")[1]))
        uids = [r["id"] for r in rows]
        conn.execute(
            "INSERT INTO api_tokens (user_id, token_hash, prefix) "
            "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])",
            (uids, [hash_token(t) for t in tokens], [t[:10] for t in tokens]),
        )
        patrols = conn.execute(
            "INSERT INTO patrols (leader_user_id, leader, area_code, started_at) "
            "SELECT u, 'officer-' || o, a, %s FROM unnest(%s::bigint[], %s::text[]) "
            "WITH ORDINALITY x(u, a, o) ORDER BY o RETURNING id",
            (start, uids, [r["area_code"] for r in rows]),
        ).fetchall()
    return [Officer(p["id"], t, i, j) for p, t, (i, j) in zip(patrols, tokens, spots, strict=True)]


BULK_SQL = """
WITH ins AS (
INSERT INTO patrol_fixes (patrol_id, client_id, at, geom, accuracy_m, grid_code, inaccurate,
                          outside, jump)
SELECT o.patrol, 'f' || s, %(start)s + make_interval(secs => %(fix_s)s * s),
       ST_SetSRID(ST_MakePoint(
           %(x0)s + o.i * %(dx)s + %(mlon)s * (%(margin)s + CASE WHEN u < %(lane)s THEN u
                                                         ELSE 2 * %(lane)s - u END),
           %(y0)s + o.j * %(dy)s + %(mlat)s * (%(margin)s
               + mod((floor(s * %(step)s / %(lane)s) * %(row)s)::numeric, %(lane)s::numeric))),
           4326),
       8.0, p.area_code, false, false, false
FROM unnest(%(patrols)s::bigint[], %(is)s::int[], %(js)s::int[], %(s0)s::int[])
     AS o(patrol, i, j, s0)
JOIN patrols p ON p.id = o.patrol
CROSS JOIN LATERAL generate_series(o.s0, %(s1)s - 1) AS s
CROSS JOIN LATERAL (SELECT mod((s * %(step)s)::numeric, (2 * %(lane)s)::numeric) AS u) w
RETURNING patrol_id, at
)  -- the pieces marked for the fold, as every batch does (gis/patrols.py, ADD_FIXES_SQL)
INSERT INTO patrol_cover_dirty (patrol_id, chunk)
SELECT DISTINCT patrol_id, floor(extract(epoch FROM at) / 900)::int FROM ins
ON CONFLICT DO NOTHING
"""


def bulk_day(
    conn: psycopg.Connection[Any], officers: list[Officer], start: dt.datetime, hours: float
) -> int:
    """Each officer's walk from its next step to `hours` after the start, in SQL; its pieces
    marked for the coverage fold."""
    s1 = int(hours * 3600 / FIX_S)
    params = {
        "start": start,
        "fix_s": FIX_S,
        "x0": X0,
        "y0": Y0,
        "dx": DX,
        "dy": DY,
        "mlon": M_LON,
        "mlat": M_LAT,
        "margin": MARGIN_M,
        "lane": LANE_M,
        "step": STEP_M,
        "row": ROW_M,
        "patrols": [o.patrol for o in officers],
        "is": [o.i for o in officers],
        "js": [o.j for o in officers],
        "s0": [o.step for o in officers],
        "s1": s1,
    }
    with conn.transaction():
        n = conn.execute(BULK_SQL, params).rowcount
    conn.execute("ANALYZE patrol_fixes")
    return n
