"""Random closed-loop histories through HTTP: the evaluation SQL agrees with a plain reading.

Each seed drives ~36 incidents through the real workflow API with a settable clock: returns,
re-dispatches, rework, extensions (granted and refused), suspensions, escalations, self-handling,
rejections (some as duplicates), whistles answered on time, late or never, and cases left open.
`tests/stats_reference.py` then recomputes every count of docs/metrics.md from the stored log in
Python, and `GET /api/v1/stats` must give the same figures for several periods and groupings.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from api.db.models_evaluation import ROLLED, ROLLUPS
from api.services.evaluation import buckets
from api.services.evaluation.buckets import bucket_rows
from api.services.evaluation.live_sets import live_incidents, live_of_ends, live_of_group
from api.services.evaluation.query import Over, stats_rows
from api.services.evaluation.stats import figures
from tests import stats_reference as ref
from tests.loop import SH, Clock, act, report

START = dt.datetime(2025, 10, 6, 8, 0, tzinfo=SH)
DEPARTMENTS = ("WATER", "SANITATION", "CITYMGMT-001", "CITYMGMT")
CATEGORIES = ("BJ0101", "BJ0101", "SJ0102", "SH0101")
POINTS = ({"lon": 116.010, "lat": 39.020}, {"lon": 116.035, "lat": 39.020})
# (action, weight, body maker) per status; a 0.08 chance per step leaves a case as it is.
MOVES: dict[str, list[tuple[str, float]]] = {
    "reported": [("register", 8), ("reject", 1), ("self_handle", 1), ("escalate", 0.3)],
    "registered": [("dispatch", 8), ("reject", 0.5), ("self_handle", 0.5), ("suspend", 1)],
    "dispatched": [
        ("accept", 6),
        ("dispatch", 0.8),
        ("return", 1),
        ("self_handle", 0.2),
        ("request_extension", 1),
        ("approve_extension", 3),
        ("suspend", 0.4),
        ("whistle", 0.6),
    ],
    "in_progress": [
        ("handle", 6),
        ("return", 0.7),
        ("request_extension", 1),
        ("approve_extension", 3),
        ("suspend", 0.4),
        ("whistle", 0.6),
    ],
    "handled": [("verify", 1)],
    "suspended": [("reopen", 1)],
}


class Walk:
    """One random history: incidents, their state as last seen, pending check-ins."""

    def __init__(self, client: Any, admin: dict[str, str], clock: Clock, rng: random.Random):
        self.client, self.admin, self.clock, self.rng = client, admin, clock, rng
        self.docs: dict[str, dict[str, Any]] = {}
        self.parked: set[str] = set()
        self.checkins: list[tuple[dt.datetime, int, str]] = []
        self.asked: set[str] = set()  # cases with an extension request waiting
        # which actions are dated back: drawn apart, so each seed's history is otherwise as it was
        self.late = random.Random(rng.getstate()[1][0])

    def new_case(self) -> None:
        where = self.rng.choice(POINTS)
        case = report(self.client, self.rng.choice(CATEGORIES), headers=self.admin, **where)
        self.docs[case] = self._get(case)

    def _get(self, case: str) -> dict[str, Any]:
        r = self.client.get(f"/api/v1/incidents/{case}", headers=self.admin)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def body(self, action: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A valid request body for `action` on the case as last seen."""
        rng, now = self.rng, self.clock.now
        if action == "reject":
            others = [c for c in self.docs if c != doc["id"]]
            if others and rng.random() < 0.5:
                return {"data": {"reason": "duplicate", "duplicate_of": rng.choice(others)}}
            return {"data": {"reason": "invalid"}}
        if action == "dispatch":
            return {"department": rng.choice(DEPARTMENTS)} if rng.random() < 0.4 else {}
        if action == "verify":
            return {"data": {"passed": rng.random() < 0.75}}
        if action == "request_extension":
            due = dt.datetime.fromisoformat(doc["due_at"]) if doc.get("due_at") else now
            until = max(due, now) + dt.timedelta(hours=rng.randint(1, 30))
            return {"note": "需要协调", "data": {"until": until.isoformat()}}
        if action == "approve_extension":
            return {"data": {"approved": rng.random() < 0.7}}
        if action in ("return", "handle", "self_handle", "suspend", "escalate"):
            return {"note": "随机历史"}
        return {}

    def whistle(self, case: str) -> None:
        depts = self.rng.sample(DEPARTMENTS, self.rng.randint(1, 2))
        minutes = self.rng.choice((30, 60, 120))
        r = self.client.post(
            f"/api/v1/incidents/{case}/whistle",
            json={"departments": depts, "deadline_minutes": minutes},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        for dept in depts:
            if self.rng.random() < 0.8:  # the rest never report in
                due = self.clock.now + dt.timedelta(minutes=self.rng.randint(5, 200))
                self.checkins.append((due, int(r.json()["id"]), dept))

    def check_ins_due(self) -> None:
        for item in [c for c in self.checkins if c[0] <= self.clock.now]:
            self.checkins.remove(item)
            r = self.client.post(
                f"/api/v1/whistles/{item[1]}/check-in",
                json={"department": item[2]},
                headers=self.admin,
            )
            assert r.status_code == 200, r.text

    def step(self) -> None:
        """Move the clock, answer due check-ins, then one action on one live case."""
        self.clock.advance(minutes=self.rng.choice((1, 10, 30, 60, 120, 240, 600)))
        self.check_ins_due()
        live = [
            c
            for c, d in self.docs.items()
            if d["status"] not in ("closed", "rejected") and c not in self.parked
        ]
        if not live or self.rng.random() < 0.12:
            self.new_case()
            return
        case = self.rng.choice(live)
        if self.rng.random() < 0.04:
            self.parked.add(case)  # left as it is: open, maybe overdue
            return
        doc = self.docs[case]
        moves = MOVES[doc["status"]]
        action = self.rng.choices([m[0] for m in moves], [m[1] for m in moves])[0]
        if case in self.asked and doc["status"] in ("dispatched", "in_progress"):
            action = "approve_extension" if self.rng.random() < 0.7 else action
        if action == "whistle":
            self.whistle(case)
            return
        # now and then an action logged late, dated back before the case's last events: its log
        # is no longer in time order (eval_incidents.ordered), and is read event by event
        back = (
            dt.timedelta(minutes=self.late.randint(1, 1440)) if self.late.random() < 0.1 else None
        )
        if back is not None:
            back = min(back, self.clock.now - dt.datetime.fromisoformat(doc["reported_at"]))
            self.clock.now -= back
        try:
            r = act(self.client, case, self.admin, action, **self.body(action, doc))
        finally:
            if back is not None:
                self.clock.now += back
        # 409: the state forbids it right now (no pending extension, top of the hierarchy…)
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            self.docs[case] = r.json()
            if action == "request_extension":
                self.asked.add(case)
            elif action in ("approve_extension", "dispatch", "return", "handle", "suspend"):
                self.asked.discard(case)


def periods(rng: random.Random, end: dt.datetime) -> list[tuple[str, str]]:
    """The whole history, one ending before now (later events unread), and random windows."""
    out = [
        (START.date().isoformat(), (end + dt.timedelta(days=2)).date().isoformat()),
        (START.isoformat(), (START + (end - START) / 2).isoformat()),
    ]
    span = (end - START).total_seconds()
    for _ in range(4):
        a = START + dt.timedelta(seconds=rng.uniform(0, span))
        b = a + dt.timedelta(hours=rng.choice((6, 24, 72, 240)))
        out.append((a.isoformat(timespec="seconds"), b.isoformat(timespec="seconds")))
    return out


def compare(world: Any, admin: dict[str, str], conn: Any, start: str, end: str) -> None:
    """`GET /api/v1/stats` for the period by every grouping equals the plain reading."""
    incidents, checkins = ref.load(conn)
    for group_by in ("department", "area", "category"):
        r = world.get(
            "/api/v1/stats",
            params={"from": start, "to": end, "group_by": group_by},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        t_from = dt.datetime.fromisoformat(doc["period"]["from"])
        t_end = dt.datetime.fromisoformat(doc["period"]["as_of"])
        rows, total = ref.evaluate(incidents, checkins, t_from, t_end, group_by)
        keys = list(total)
        got = {
            row["code"]: {k: row[k] for k in keys}
            for row in doc["rows"]
            if any(row[k] for k in keys)
        }
        want = {c: f for c, f in rows.items() if any(f.values())}
        got[" total"] = {k: doc["total"][k] for k in keys}
        want[" total"] = total
        diff = {
            (code, k): (got.get(code, {}).get(k), want.get(code, {}).get(k))
            for code in set(got) | set(want)
            for k in keys
            if got.get(code, {}).get(k) != want.get(code, {}).get(k)
        }
        assert not diff, (start, end, group_by, diff)


NOW = "SELECT max(at) + interval '1 second' AS t FROM incident_events"
ROLLUP_CHECK = """
WITH facts AS (
    SELECT g, CASE g WHEN 'd' THEN (at AT TIME ZONE 'Asia/Shanghai')::date
                ELSE date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date END AS b,
           {cols}, {sums}
    FROM eval_facts CROSS JOIN (VALUES ('d'), ('m')) v(g) GROUP BY 1, 2, {cols}
),
stored AS (SELECT grain, bucket, {cols}, {rolled} FROM {table})
(SELECT * FROM facts WHERE {nonzero} EXCEPT ALL SELECT * FROM stored WHERE {nonzero})
UNION ALL
(SELECT * FROM stored WHERE {nonzero} EXCEPT ALL SELECT * FROM facts WHERE {nonzero})
"""


def rollups_match_facts(conn: Any) -> None:
    """Each rollup row is the sum of the facts in its bucket and groups (migration 0027)."""
    for table, keys in ROLLUPS.items():
        query = sql.SQL(ROLLUP_CHECK).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, keys)),
            sums=sql.SQL(", ").join(
                sql.SQL("count(*) FILTER (WHERE m = {})::int AS {}").format(
                    sql.Literal(m), sql.Identifier(m)
                )
                for m in ROLLED
            ),
            rolled=sql.SQL(", ").join(map(sql.Identifier, ROLLED)),
            table=sql.Identifier(table),
            nonzero=sql.SQL(" OR ").join(
                sql.SQL("{} <> 0").format(sql.Identifier(m)) for m in ROLLED
            ),
        )
        assert conn.execute(query).fetchall() == [], table


# Every stored fact and rollup row, in a stable order (an incident's last_at apart: the refresh
# sets the time of its last event, the events no fact reads leave it as it was: LAST_AT_CHECK).
STORED = [
    "SELECT incident_id, reported_at, report_dept, registered_at, register_dept, rejected_at, "
    "rejected_dept, closed_at, closed_dept, reworks, close_due, close_lead, ordered, "
    "last_mark_at, last_due, reworked_at FROM eval_incidents ORDER BY incident_id",
    "SELECT * FROM eval_episodes ORDER BY incident_id, ep",
    "SELECT * FROM eval_handles ORDER BY event_id",
    "SELECT * FROM eval_facts ORDER BY incident_id, m, at, at2, dept",
    "SELECT * FROM eval_times ORDER BY incident_id, at",
    "SELECT * FROM eval_open ORDER BY incident_id",
    *(
        f"SELECT * FROM {t} ORDER BY {', '.join(('grain', 'bucket', *k))}"  # noqa: S608
        for t, k in ROLLUPS.items()
    ),
]


# An incident's last_at is at or after its last event a fact reads, and not after its last event
# (migration 0032): what the evaluation needs to tell whether its stored facts describe a T.
LAST_AT_CHECK = """
SELECT f.incident_id, f.last_at, e.last_fact, e.last_any FROM eval_incidents f
JOIN (SELECT incident_id, max(at) AS last_any,
             max(at) FILTER (WHERE action = ANY(%(fact_actions)s)) AS last_fact
      FROM incident_events GROUP BY incident_id) e USING (incident_id)
WHERE NOT (f.last_at >= e.last_fact AND f.last_at <= e.last_any)
"""
FACT_ACTIONS = list(importlib.import_module("migrations.versions.0028_eval_fast").FACT_ACTIONS)
AS_OF = importlib.import_module("migrations.versions.0037_eval_as_of")


def batch_path_agrees(conn: Any) -> None:
    """The triggers' functions over more than BATCH incidents (migration 0028: statements planned
    for the batch) recompute exactly the facts the per-event path kept."""
    assert conn.execute(LAST_AT_CHECK, {"fact_actions": FACT_ACTIONS}).fetchall() == []
    before = [conn.execute(q).fetchall() for q in STORED]
    ids = [r["id"] for r in conn.execute("SELECT id FROM incidents")]
    ids += list(range(-60, 0))  # ids of no incident: more than BATCH however few cases there are
    conn.execute("SELECT gridgov_eval_refresh(%s::bigint[])", (ids,))
    conn.execute("SELECT gridgov_eval_facts(%s::bigint[])", (ids,))
    assert [conn.execute(q).fetchall() for q in STORED] == before
    # migration 0037 filled the columns it added from the logs as the refresh computes them
    conn.execute(
        "UPDATE eval_incidents SET ordered = NOT ordered, last_mark_at = NULL, "
        "last_due = NULL, reworked_at = NULL"
    )
    conn.execute(AS_OF.FILL)
    assert [conn.execute(q).fetchall() for q in STORED] == before


# how many times a trend was read in two parts at once (`bucket_rows` with a spare connection)
AT_ONCE: list[int] = []


def trend_agrees(conn: Any, kw: dict[str, Any], key: str, url: str) -> int:
    """A trend's buckets read in one statement (`bucket_rows`: the log of every (incident,
    bucket) pair at once) give each bucket's row as the bucket read alone; the number of pairs.
    Read in two parts at once (a second connection), the same rows."""
    t_from, t_end = kw["t_from"], kw["t_end"]
    # three buckets of a third each: their edges fall within days, as a trend's last one does
    edges = [t_from + (t_end - t_from) * i / 3 for i in range(3)] + [t_end]
    edges = [e.replace(microsecond=0) for e in edges]
    overs = [Over(**kw | {"t_from": a, "t_end": b}, total=False) for a, b in pairwise(edges)]
    found = live_of_ends(conn, edges[1:], kw["group_by"], kw["level"], key)
    live = [found[e] for e in edges[1:]]
    together = bucket_rows(conn, overs, key, live)
    # a large group's buckets are read a few at a time: here one by one, the same rows
    default, buckets.PAIRS_PER_STATEMENT = buckets.PAIRS_PER_STATEMENT, 1
    try:
        assert bucket_rows(conn, overs, key, live) == together, (overs, key, "in parts")
    finally:
        buckets.PAIRS_PER_STATEMENT = default

    @contextmanager
    def spare() -> Iterator[Any]:
        AT_ONCE.append(1)
        with psycopg.connect(url, row_factory=dict_row) as other:
            yield other

    parallel, buckets.PARALLEL_PAIRS = buckets.PARALLEL_PAIRS, 1
    try:
        assert bucket_rows(conn, overs, key, live, spare) == together, (overs, key, "at once")
        buckets.PAIRS_PER_STATEMENT = 1  # each side in parts too
        assert bucket_rows(conn, overs, key, live, spare) == together, (overs, key, "both")
    finally:
        buckets.PARALLEL_PAIRS, buckets.PAIRS_PER_STATEMENT = parallel, default
    for over, row in zip(overs, together, strict=True):
        alone = [r for r in stats_rows(conn, over, key=key, only_key=True) if not r["total"]]
        assert (row is None) == (alone == []), (over, key)
        if row is not None:
            # (a sum in another order may differ in its last bits: compared as published)
            assert figures(row) == figures(alone[0]), (over, key)
            assert {k: v for k, v in row.items() if not k.startswith("handling_")} == {
                k: v for k, v in alone[0].items() if not k.startswith("handling_")
            }, (over, key)
    return sum(map(len, live))


def one_group_agrees(conn: Any, start: str, end: str, url: str) -> int:
    """One group's figures (a trend bucket: only the live incidents that can count for it are
    read from their log) equal that group's row of the whole table; the (incident, bucket) pairs
    the trends read from the log."""
    pairs = 0
    t_from = dt.datetime.fromisoformat(start).replace(tzinfo=SH)
    t_end = min(
        dt.datetime.fromisoformat(end).replace(tzinfo=SH), conn.execute(NOW).fetchone()["t"]
    )
    if len(start) == 10:  # a date: the period of the API starts and ends at local midnight
        t_end = dt.datetime.fromisoformat(end).replace(tzinfo=SH) + dt.timedelta(days=1)
    for group_by, level in (("department", None), ("area", "grid"), ("category", "category")):
        kw: dict[str, Any] = {"t_from": t_from, "t_end": t_end, "group_by": group_by}
        kw |= {"level": level, "scope_area": None, "scope_department": None}
        over = Over(**kw)
        everything = stats_rows(conn, over)
        rows = {r["key"]: r for r in everything if not r["total"]}
        # the handling times read on a second connection meanwhile (`rollup_rows`' spare):
        # the same rows (a sum in another order may differ in its last bits: as published)
        beside = stats_rows(conn, over, spare=lambda: psycopg.connect(url, row_factory=dict_row))
        assert [(r["key"], r["total"], figures(r)) for r in beside] == [
            (r["key"], r["total"], figures(r)) for r in everything
        ], (start, end, group_by, "beside")
        for key, row in rows.items():
            one = [r for r in stats_rows(conn, over, key=key, only_key=True) if not r["total"]]
            assert one == [row], (start, end, group_by, key)
            if key is not None:  # a trend: the live incidents of every bucket end found at once
                ends = [t_end - dt.timedelta(days=d) for d in (3, 1, 0)]
                at_ends = live_of_ends(conn, ends, group_by, level, key, one_pass=True)
                by_end = live_of_ends(conn, ends, group_by, level, key, one_pass=False)
                for end_at in ends:  # each end's: those live at it, of the group
                    alone = live_of_group(conn, live_incidents(conn, end_at), group_by, level, key)
                    assert sorted(at_ends[end_at]) == sorted(alone), (end_at, group_by, key)
                    assert sorted(by_end[end_at]) == sorted(alone), (end_at, group_by, key)
                live = at_ends[t_end]
                kw_live: dict[str, Any] = {"key": key, "only_key": True, "live_ids": live}
                one = [r for r in stats_rows(conn, over, **kw_live) if not r["total"]]
                assert one == [row], (start, end, group_by, key, "live_of_ends")
                pairs += trend_agrees(conn, kw, key, url)
        # the handling times read in (group, seconds) order from migration 0029's indexes, no
        # sort: the same figures as a sort of the period's times
        conn.execute("SET enable_sort = off")
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        try:
            ordered = stats_rows(conn, over)
            # (a sum in another order may differ in its last bits: compared as published)
            assert [(r["key"], r["total"], figures(r)) for r in ordered] == [
                (r["key"], r["total"], figures(r)) for r in everything
            ], (start, end, group_by, "ordered")
        finally:
            conn.execute("RESET enable_sort")
            conn.execute("RESET enable_seqscan")
            conn.execute("RESET enable_bitmapscan")
    return pairs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_match_a_plain_reading_of_the_definitions(
    world: Any, world_db: str, token_for: Any, seed: int
) -> None:
    AT_ONCE.clear()
    rng = random.Random(seed)
    clock = Clock(START)
    world.app.state.clock = clock
    admin = token_for("root", "admin")
    walk = Walk(world, admin, clock, rng)
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        for step in range(260):
            walk.step()
            if step in (90, 180):  # up to now, while cases are open: the rollups' own path
                now = clock.now
                tomorrow = (now + dt.timedelta(days=1)).date().isoformat()
                compare(world, admin, conn, START.isoformat(), tomorrow)
                # from a local midnight: the settled days' sums and times kept (sums_kept)
                compare(world, admin, conn, START.date().isoformat(), tomorrow)
                compare(
                    world,
                    admin,
                    conn,
                    (now - dt.timedelta(hours=36)).isoformat(timespec="seconds"),
                    now.isoformat(),
                )
        rollups_match_facts(conn)
        incidents, checkins = ref.load(conn)
        actions = {r["action"] for r in conn.execute("SELECT action FROM incident_events")}
    # the histories hold the whole event mix the definitions talk about
    assert {"return", "approve_extension", "suspend", "reopen", "self_handle", "reject"} <= actions
    assert any(not e["data"].get("passed", True) for i in incidents for e in i["log"])
    assert {k["checked_in_at"] is None for k in checkins} == {True, False}
    # some logs went out of time order: those incidents are read from their log as of a past T,
    # the others from their stored facts as of T
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        orders = {r["ordered"] for r in conn.execute("SELECT ordered FROM eval_incidents")}
    assert orders == {True, False}
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        periods_read = periods(rng, clock.now)
        pairs = 0
        for start, end in periods_read:
            compare(world, admin, conn, start, end)
            pairs += one_group_agrees(conn, start, end, world_db)
        assert pairs > 0  # the trends read some incidents' log as of past bucket ends
        assert AT_ONCE  # and some in two parts at once
    # last: the refresh sets each last_at to the incident's last event, where the periods above
    # read it as the events left it (only those a fact reads move it: migration 0032)
    with psycopg.connect(world_db, row_factory=dict_row, autocommit=True) as conn:
        batch_path_agrees(conn)
    assert len(periods_read) == 6
