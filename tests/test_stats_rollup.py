"""The evaluation rollups (migration 0027) follow an incident that moves to another grid or
category (a boundary edit, a re-classification), and read the same figures as the log."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.db.models_evaluation import ROLLED
from api.services.evaluation.query import Over, _log_rows, stats_rows
from api.services.evaluation.rollup import area_level, source, spans
from tests.loop import COMMUNITY, G1, G2, SH, STREET, Clock, ok, report
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
            fast = by_key(stats_rows(conn, Over(**kw)))
            slow = by_key(_log_rows(conn, Over(**kw), key=None, only_key=False))
            assert fast == slow, group_by
        grids = by_key(stats_rows(conn, Over(**{**kw, "group_by": "area", "level": "grid"})))
        assert grids[(G2, False)]["reported"] == 1 and grids[(G2, False)]["handled"] == 1
        assert grids[(G1, False)]["reported"] == 2


# What a boundary edit writes (api/services/boundaries/impact.MOVE_SQL): one statement updating the
# incidents' areas and inserting a `reassign` event each.
REASSIGN_SQL = """
WITH moved AS (
    UPDATE incidents SET grid_code = %(grid)s, updated_at = %(at)s
    WHERE id = ANY(%(ids)s) RETURNING id, status
)
INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, data)
SELECT id, %(at)s, 'test', 'reassign', status, status, '{}'::jsonb FROM moved
"""
FACTS_OF = """
SELECT m, at, at2, dept, category, district, street, community, secs FROM eval_facts
WHERE incident_id = ANY(%(ids)s) ORDER BY 1, 2, 3, 4, 9
"""
MOVED_GRIDS = """
SELECT grid FROM eval_facts WHERE incident_id = ANY(%(ids)s)
UNION SELECT grid FROM eval_times WHERE incident_id = ANY(%(ids)s)
UNION SELECT grid FROM eval_open WHERE incident_id = ANY(%(ids)s)
"""
GRID_SUMS = """
SELECT grid, grain, {sums} FROM eval_roll_area WHERE grid = ANY(%(grids)s) GROUP BY 1, 2
"""


def grid_sums(conn: Any) -> dict[tuple[str, str], dict[str, int]]:
    """Every rolled-up count of the two grids, per grain (days, months)."""
    sums = ", ".join(f"sum({m})::int AS {m}" for m in ROLLED)
    rows = conn.execute(GRID_SUMS.format(sums=sums), {"grids": [G1, G2]}).fetchall()
    return {(r["grid"], r["grain"]): {m: r[m] for m in ROLLED} for r in rows}


def test_a_reassignment_moves_facts_between_grids_once(
    world: Any, world_db: str, token_for: Any
) -> None:
    clock = Clock(START)
    world.app.state.clock = clock
    admin = token_for("root", "admin")
    cases = [report(world, "SJ0102", headers=admin) for _ in range(4)]
    for n, case in enumerate(cases):
        clock.advance(hours=1)
        ok(world, case, admin, "register")
        clock.advance(hours=1)
        ok(world, case, admin, "dispatch")
        if n < 2:  # two handled (times, handles, on-time facts), two left open
            clock.advance(hours=1)
            ok(world, case, admin, "accept")
            clock.advance(hours=1)
            ok(world, case, admin, "handle", note="处置完毕")
    clock.advance(hours=3)
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        ids = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM incidents WHERE public_id = ANY(%s) ORDER BY id", (cases[1:],)
            )
        ]
        facts = conn.execute(FACTS_OF, {"ids": ids}).fetchall()
        moving = {m: sum(1 for f in facts if f["m"] == m) for m in ROLLED}
        assert moving["reported"] == 3 and moving["handles"] == 1
        before = grid_sums(conn)
        last = {r["incident_id"]: r["last_at"] for r in conn.execute("TABLE eval_incidents")}
        conn.execute(REASSIGN_SQL, {"grid": G2, "at": clock.now, "ids": ids})
        after = grid_sums(conn)
        # every rolled-up fact of the three incidents left G1 and arrived in G2, once
        for grain in ("d", "m"):
            g1, g2 = (G1, grain), (G2, grain)
            for m in ROLLED:
                assert before[g1][m] - after[g1][m] == moving[m], (grain, m)
                assert after[g2][m] - before.get(g2, {}).get(m, 0) == moving[m], (grain, m)
        rollups_match_facts(conn)
        # the facts themselves are unchanged but for the grid; times and open cases moved too
        assert conn.execute(FACTS_OF, {"ids": ids}).fetchall() == facts
        assert {r["grid"] for r in conn.execute(MOVED_GRIDS, {"ids": ids})} == {G2}
        # a reassign event changes no fact, nor the time of the last event a fact reads
        # (migration 0032): the periods below that end between the two still read exactly
        now = {r["incident_id"]: r["last_at"] for r in conn.execute("TABLE eval_incidents")}
        assert now == last
        # a period ending before the edit reads the later log exactly (the live path)
        for t_end in (clock.now - dt.timedelta(hours=2), clock.now + dt.timedelta(hours=1)):
            kw: dict[str, Any] = {
                "t_from": START - dt.timedelta(days=1),
                "t_end": t_end,
                "group_by": "area",
                "level": "grid",
                "scope_area": None,
                "scope_department": None,
            }
            fast = by_key(stats_rows(conn, Over(**kw)))
            assert fast == by_key(_log_rows(conn, Over(**kw), key=None, only_key=False))


REPORTED_IN_G2 = """
SELECT count(*) FILTER (WHERE grid_code = %(scope_area)s OR id = %(moved)s) AS n FROM incidents
WHERE reported_at >= %(t_from)s AND reported_at < %(t_end)s
"""


def answered_for_by(
    conn: psycopg.Connection[Any], area: str, case: str, grid: str, *, in_community: bool = True
) -> dict[str, Any]:
    """Make `area` answer for `case` of `grid` (as other tools may write it), out of any
    community unless `in_community`; the case's row (its id)."""
    row = conn.execute(
        "UPDATE incidents SET responsible_area_code = %(area)s, "
        "community_code = CASE WHEN %(in_community)s THEN community_code END "
        "WHERE public_id = %(case)s AND grid_code = %(grid)s RETURNING id",
        {"area": area, "case": case, "grid": grid, "in_community": in_community},
    ).fetchone()
    assert row is not None
    return row


def test_scoped_figures_from_the_rollups_equal_the_log(
    world: Any, world_db: str, token_for: Any
) -> None:
    """A dispatcher's area and a department's figures by street read the rollups (migration
    0031), a department's by community or grid and a community's by department or category the
    facts (0034), and equal the log path's: with a case escalated past its own areas (found by
    its responsible area), a case in no community answered for by the community, live cases,
    whole months, whole days and partial edge days."""
    clock = Clock(START)
    world.app.state.clock = clock
    admin = token_for("root", "admin")
    cases = []
    for n in range(8):  # spread over six weeks, in both grids
        cases.append(report(world, "SJ0102", headers=admin, lon=116.010 if n % 2 else 116.030))
        clock.advance(hours=2)
        ok(world, cases[-1], admin, "register")
        clock.advance(hours=1)
        ok(world, cases[-1], admin, "dispatch")
        if n % 3:
            clock.advance(hours=1)
            ok(world, cases[-1], admin, "accept")
            clock.advance(days=1)
            ok(world, cases[-1], admin, "handle", note="处置完毕")
        clock.advance(days=5, hours=7)
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        # a case of G1 answered for by G2: its responsible area is none of its own areas
        moved = answered_for_by(conn, G2, cases[1], G1)
        # a case of G2 in no community (data written by other tools) that the community answers
        # for: a department finds its facts apart from the communities', the community by its
        # responsible area
        answered_for_by(conn, COMMUNITY, cases[4], G2, in_community=False)
        ok(world, cases[0], admin, "accept")  # an event late in the history: live before it
        clock.advance(hours=5)
        dept = conn.execute("SELECT department_code FROM incidents LIMIT 1").fetchone()
        groupings = [("department", None), ("category", None), ("area", "grid")]
        groupings += [("area", "community"), ("area", "street")]
        ends = (clock.now - dt.timedelta(days=20), clock.now + dt.timedelta(hours=1))
        scopes = [{"scope_area": a, "scope_department": None} for a in (G1, G2, COMMUNITY, STREET)]
        scopes += [{"scope_area": None, "scope_department": dept["department_code"]}]
        scopes += [{"scope_area": STREET, "scope_department": dept["department_code"]}]
        served = {"rollup": 0, "facts": 0, "log": 0}
        # from before the first case, or from its fourth day: a month more than half in the
        # period is read whole, less its other days (`spans`), which hold facts in the second;
        # or from 70 days before it: the grids' handling times in index order (TIMES_LONG)
        starts = (
            START - dt.timedelta(hours=30),
            START + dt.timedelta(days=3),
            START - dt.timedelta(days=70),
        )
        for t_from, t_end in itertools.product(starts, ends):
            for group_by, level in groupings:
                for scope in scopes:
                    kw: dict[str, Any] = {
                        "t_from": t_from,
                        "t_end": t_end,
                        "group_by": group_by,
                        "level": level,
                        **scope,
                    }
                    scope_level = area_level(conn, scope["scope_area"])
                    served[source(group_by, level, scope_level, scope["scope_department"])] += 1
                    fast = by_key(stats_rows(conn, Over(**kw)))
                    slow = by_key(_log_rows(conn, Over(**kw), key=None, only_key=False))
                    assert fast == slow, (t_from, t_end, group_by, level, scope)
                    if scope["scope_area"] == G2 and group_by == "department":
                        # G2's own cases and G1's case answered for by G2
                        want = conn.execute(REPORTED_IN_G2, {**kw, "moved": moved["id"]})
                        assert fast[(None, True)]["reported"] == want.fetchone()["n"]
        # from the rollups: every grouping of a street's scope and every grouping by area of a
        # grid's or community's; from the facts: a department's figures by community or grid
        # (2 scopes) and the department or category figures of the community; from the log
        # those of a grid (2 grids)
        periods = len(starts) * len(ends)
        assert served == {
            "rollup": periods * 20,
            "facts": periods * (2 * 2 + 2),
            "log": periods * 2 * 2,
        }


def test_spans_count_every_day_of_the_period_once() -> None:
    """`spans` reads a month more than half in the period whole, less its other days: summed
    with their signs (whole months, days [d0, m0) and [m1, d1), minus days [m0, d0) and
    [d1, m1)), the buckets count each whole day of the period once and no other day; with
    `last_day_whole`, the day T falls in too, less its facts from T on, and its month whole."""
    first = dt.date(2026, 1, 1)
    ends = [first + dt.timedelta(days=n) for n in range(0, 130, 3)]
    complemented = 0
    for a, b, whole in itertools.product(ends, ends, (False, True)):
        if b <= a:
            continue
        t_from = dt.datetime.combine(a, dt.time(0), SH) - dt.timedelta(hours=7)
        t_end = dt.datetime.combine(b, dt.time(15), SH)
        s = spans(t_from, t_end, last_day_whole=whole)
        m0, m1, d0, d1 = s["m0"], s["m1"], s["d0"], s["d1"]
        last = b + dt.timedelta(days=1) if whole else b
        assert (d0, d1) == (a, last)
        # the partial days read from the facts: [t_from, e0) and [e1, t_end), less [t_end, e2)
        assert s["e0"] == dt.datetime.combine(a, dt.time(0), SH)
        assert (s["e1"], s["e2"]) == (
            (t_end, dt.datetime.combine(last, dt.time(0), SH))
            if whole
            else (dt.datetime.combine(b, dt.time(0), SH), t_end)
        )
        complemented += m0 < d0 or d1 < m1
        if whole and last.day != 1 and a <= last.replace(day=1):
            # T is after every event: the month it falls in is read as its month's row, less
            # the days after T's, which hold only deadlines still to come
            assert m1 > last, (a, b)
        for n in range(-40, 170):
            day = first + dt.timedelta(days=n)
            count = int(m0 <= day.replace(day=1) < m1)  # its month's row
            count += int(d0 <= day < m0 or m1 <= day < d1)
            count -= int(m0 <= day < d0 or d1 <= day < m1)
            assert count == int(d0 <= day < d1), (a, b, day)
    assert complemented > 200
