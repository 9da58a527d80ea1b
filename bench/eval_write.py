"""What the evaluation rollup (migration 0027) adds to the write path, per event and per report.

    .venv/bin/python -m bench.eval_write --url postgresql://…/db [--n 200]

On a copy of a scale database (`python -m bench scale`): for N random incidents, one event is
inserted in its own transaction (rolled back, so the database is left as it was), once with
the triggers of 0027 (facts, rollups) and once with 0020's trigger function alone (put back for
that transaction only). A `return` stands for a workflow event (it ends an
episode, so facts and rollup rows change); an `accept` for an event no fact reads; a new
incident's `report` for intake. Printed:
median and p95 milliseconds of the INSERT each way, and the difference.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import psycopg

from bench.common import console

ONLY_0020 = """
CREATE OR REPLACE FUNCTION gridgov_eval_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.action <> 'report'
                   OR EXISTS (SELECT 1 FROM eval_incidents f WHERE f.incident_id = n.incident_id))
       AND (SELECT count(*) = count(DISTINCT incident_id) FROM new_rows) THEN
        INSERT INTO eval_incidents (incident_id, last_at, reported_at, report_dept, reworks)
        SELECT incident_id, at, at, department_code, 0 FROM new_rows;
    ELSE
        PERFORM gridgov_eval_refresh(ARRAY(SELECT DISTINCT incident_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
"""

RETURN_SQL = """
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                             department_code, note)
VALUES (%(id)s, now(), 'bench', 'return', 'dispatched', 'registered', %(dept)s, 'bench')
"""

# An event no fact reads (migration 0028: it only moves the incident's last event time).
ACCEPT_SQL = """
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status,
                             department_code)
VALUES (%(id)s, now(), 'bench', 'accept', 'dispatched', 'in_progress', %(dept)s)
"""

# A new incident copied from an existing one (same place and groups), with its report event.
REPORT_SQL = """
WITH i AS (
    INSERT INTO incidents (public_id, geom, orig_x, orig_y, orig_crs, category_code, source,
                           reporter, method, distance_m, responsible_area_code, assignment,
                           grid_code, community_code, street_code, district_code)
    SELECT 'bench-' || gen_random_uuid(), geom, orig_x, orig_y, orig_crs, category_code, source,
           reporter, method, distance_m, responsible_area_code, assignment, grid_code,
           community_code, street_code, district_code
    FROM incidents WHERE id = %(id)s
    RETURNING id
)
INSERT INTO incident_events (incident_id, at, actor, action, to_status)
SELECT id, now(), 'bench', 'report', 'reported' FROM i
"""


def timed_insert(
    conn: psycopg.Connection[Any], query: str, params: dict[str, Any], before: bool
) -> float:
    """Milliseconds of one INSERT in a transaction that is rolled back afterwards."""
    with conn.transaction(force_rollback=True):
        if before:
            conn.execute(ONLY_0020)
        t0 = time.perf_counter()
        conn.execute(query, params)
        return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    """Time N returns and N reports each way; print the medians."""
    p = argparse.ArgumentParser(prog="python -m bench.eval_write", description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--n", type=int, default=200)
    a = p.parse_args(argv)
    with psycopg.connect(a.url) as conn:
        rows = conn.execute(
            "SELECT id, department_code FROM incidents WHERE department_code IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            (a.n,),
        ).fetchall()
        conn.commit()
        rng = random.Random(1)
        out: dict[str, list[float]] = {}
        for incident, dept in rows:
            for label, query in (
                ("event (return)", RETURN_SQL),
                ("event (accept)", ACCEPT_SQL),
                ("report", REPORT_SQL),
            ):
                order = [False, True] if rng.random() < 0.5 else [True, False]
                for before in order:
                    key = f"{label}, {'0020 only' if before else 'with 0027'}"
                    ms = timed_insert(conn, query, {"id": incident, "dept": dept}, before)
                    out.setdefault(key, []).append(ms)
    for key, values in out.items():
        values.sort()
        console.print(
            f"{key}: median {statistics.median(values):.2f} ms, "
            f"p95 {values[int(len(values) * 0.95) - 1]:.2f} ms (n={len(values)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
