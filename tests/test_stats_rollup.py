"""The evaluation rollups (migration 0027) follow an incident that moves to another grid or
category (a boundary edit, a re-classification), and read the same figures as the log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.services.evaluation.query import _log_rows, stats_rows
from tests.loop import G1, G2, SH, Clock, ok, report
from tests.test_stats_random import rollups_match_facts

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SH)


def by_key(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Raw rows by (key, total); an absent count (NULL) is 0, as `stats.figures` reads it."""
    return {(r["key"], r["total"]): {k: v or 0 for k, v in r.items()} for r in rows}


def test_a_moved_incident_moves_its_facts(world: Any, world_db: str, token_for: Any) -> None:
    clock = Clock(START)
    world.app.state.clock = clock
    admin = token_for("root", "admin")
    cases = [report(world, "SJ0102", headers=admin) for _ in range(3)]
    for case in cases:
        clock.advance(hours=1)
        ok(world, case, admin, "register")
        clock.advance(hours=1)
        ok(world, case, admin, "dispatch")
    clock.advance(hours=2)
    ok(world, cases[0], admin, "accept")
    clock.advance(hours=1)
    ok(world, cases[0], admin, "handle", note="处置完毕")
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM incidents WHERE public_id = %s", (cases[0],)).fetchone()
        assert row is not None
        before = conn.execute(
            "SELECT grid, category FROM eval_facts WHERE incident_id = %s", (row["id"],)
        ).fetchall()
        assert before and {(f["grid"], f["category"]) for f in before} == {(G1, "SJ0102")}
        # what a boundary edit and a re-classification write (api/services/boundaries/impact.py)
        conn.execute(
            "UPDATE incidents SET grid_code = %s, category_code = 'BJ0101' WHERE id = %s",
            (G2, row["id"]),
        )
        after = conn.execute(
            "SELECT DISTINCT grid, category FROM eval_facts WHERE incident_id = %s", (row["id"],)
        ).fetchall()
        assert [(f["grid"], f["category"]) for f in after] == [(G2, "BJ0101")]
        rollups_match_facts(conn)
        t_from, t_end = START - dt.timedelta(days=1), clock.now + dt.timedelta(hours=1)
        for group_by, level in (("area", "grid"), ("category", None), ("department", None)):
            kw: dict[str, Any] = {
                "t_from": t_from,
                "t_end": t_end,
                "group_by": group_by,
                "level": level,
                "scope_area": None,
                "scope_department": None,
            }
            fast = by_key(stats_rows(conn, **kw))
            slow = by_key(_log_rows(conn, **kw, key=None, only_key=False))
            assert fast == slow, group_by
        grids = by_key(stats_rows(conn, **{**kw, "group_by": "area", "level": "grid"}))
        assert grids[(G2, False)]["reported"] == 1 and grids[(G2, False)]["handled"] == 1
        assert grids[(G1, False)]["reported"] == 2
