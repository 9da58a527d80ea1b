"""Demo history: three months of cases through the real workflow, so every journey can be tried.

`load_history` files reports dated over the last HISTORY_DAYS days and takes each through the
same services the API uses (`report_incident`, `apply_action`, `blow_whistle`, `check_in`) at
their historical instants, so the timelines, the statistics (综合评价) and the negative list
(负面清单) have data: most cases are closed, some late (two departments often, which puts them
on the negative list), some reworked or rejected, and some recent ones are still open past their
deadline (overdue). It also gives each demo user something to do today:

- demo-dispatcher: new reports in its street to register, and a whistle (吹哨) on one of its cases
  with an on-time, a late and a missing check-in;
- demo-cgzf: cases dispatched to its department to accept or handle;
- demo-officer: a case handled in its grid to verify.

Idempotent like the rest of the demo: every report carries a fixed Idempotency-Key and only a
newly created report is taken through its steps.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from api.schemas.incidents import IncidentIn, LonLat, Reporter
from api.schemas.workflow import ActionIn
from api.services.identity.auth import User
from api.services.intake.report import report_incident
from api.services.workflow.actions import apply_action
from api.services.workflow.whistles import blow_whistle, check_in
from api.settings import Settings

HISTORY_DAYS = 90
HISTORY_INCIDENTS = 120
SLOW_DEPARTMENTS = {"CGZF-014": 0.55, "SWJ": 0.5}  # often late: on the negative list
LATE_SHARE = 0.08  # everyone else
WHISTLED = ("CGZF-010", "SWJ", "ZLS")  # on time, late, missing
DEPARTMENT_WORK = 3  # cases dispatched to demo-cgzf to act on


@dataclass
class HistoryReport:
    """What the history added (0 everywhere on a second run)."""

    incidents: int = 0
    actions: int = 0
    whistles: int = 0


def _user(conn: Connection[Any], name: str) -> User:
    row = conn.execute(
        "SELECT id, name, role, area_code, department_code FROM users WHERE name = %s", (name,)
    ).fetchone()
    assert row is not None, name
    return User(row["id"], row["name"], row["role"], row["area_code"], row["department_code"])


class _Run:
    """One pass of the history: the settings, the acting users and the counts."""

    def __init__(self, conn: Connection[Any], settings: Settings, now: dt.datetime) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        self.admin = _user(conn, "demo-admin")
        self.out = HistoryReport()

    def report(
        self, key: str, category: str, text: str, where: tuple[float, float], at: dt.datetime
    ) -> str | None:
        """File a report at `at`; its id when new, None when the key was used before."""
        body = IncidentIn(
            category=category,
            description=f"[演示 DEMO] {text}",
            location=LonLat(lon=where[0], lat=where[1]),
            source="resident",
            reporter=Reporter(name="演示用户 Demo"),
        )
        with self.conn.transaction():
            result = report_incident(
                self.conn, self.settings, body, user=None, idempotency_key=key, is_demo=True, now=at
            )
        if not result.created:
            return None
        self.out.incidents += 1
        return str(result.incident["id"])

    def act(
        self, incident: str, action: str, at: dt.datetime, user: User | None = None, **body: Any
    ) -> None:
        apply_action(
            self.conn,
            self.settings,
            user or self.admin,
            incident,
            ActionIn(action=action, **body),  # type: ignore[arg-type]
            at,
        )
        self.out.actions += 1

    def due(self, incident: str) -> dt.datetime | None:
        row = self.conn.execute(
            "SELECT due_at, department_code FROM incidents WHERE public_id = %s", (incident,)
        ).fetchone()
        return None if row is None else row["due_at"]

    def department(self, incident: str) -> str:
        row = self.conn.execute(
            "SELECT department_code FROM incidents WHERE public_id = %s", (incident,)
        ).fetchone()
        return str(row["department_code"]) if row else ""


def _life(run: _Run, rng: random.Random, incident: str, t0: dt.datetime, stall: bool) -> None:
    """Take one dated report through the loop, stopping where `now` would be passed; a `stall`
    case stops once accepted (overdue when its deadline has passed)."""
    now = run.now
    if rng.random() < 0.07:
        run.act(incident, "reject", t0 + dt.timedelta(minutes=40), data={"reason": "invalid"})
        return
    run.act(incident, "register", t0 + dt.timedelta(minutes=20))
    sent = t0 + dt.timedelta(minutes=50)
    run.act(incident, "dispatch", sent)
    due = run.due(incident) or sent + dt.timedelta(days=1)
    dept = run.department(incident)
    late = rng.random() < SLOW_DEPARTMENTS.get(dept, LATE_SHARE)
    if late:
        done = due + dt.timedelta(hours=rng.uniform(2, 60))
    else:
        done = sent + (due - sent) * rng.uniform(0.2, 0.8)
    accepted = sent + (done - sent) * 0.1
    if accepted >= now:
        return  # still dispatched: overdue once `due` has passed
    run.act(incident, "accept", accepted)
    if stall or done >= now - dt.timedelta(hours=1):
        return  # in progress (overdue when late)
    run.act(incident, "handle", done, note="已处置完毕")
    checked = done + dt.timedelta(hours=rng.uniform(1, 20))
    if checked >= now:
        return  # handled: waits for the grid officer
    if rng.random() < 0.1:  # 返工: the officer sends it back once
        run.act(incident, "verify", checked, data={"passed": False}, note="现场仍有问题")
        done = checked + dt.timedelta(hours=rng.uniform(2, 24))
        checked = done + dt.timedelta(hours=2)
        if checked >= now:
            return
        run.act(incident, "handle", done, note="已返工处置")
    run.act(incident, "verify", checked, data={"passed": True})


def _grid_point(conn: Connection[Any], code: str) -> tuple[float, float]:
    row = conn.execute(
        "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas "
        "WHERE code = %s AND valid_to IS NULL) s",
        (code,),
    ).fetchone()
    assert row is not None, code
    return round(row["x"], 7), round(row["y"], 7)


def _todays_work(run: _Run, points: list[tuple[float, float]], reports: list[Any]) -> None:
    """Cases for the officer (one handled in its grid), the department and a whistle."""
    conn, now = run.conn, run.now
    officer = _user(conn, "demo-officer")
    dispatcher = _user(conn, "demo-dispatcher")
    if officer.area_code:
        spot = _grid_point(conn, officer.area_code)
        for k, (category, text) in enumerate(reports[:2]):
            at = now - dt.timedelta(hours=30 - k)
            inc = run.report(f"demo-officer-{k}", category, text, spot, at)
            if inc is None or k == 1:
                continue  # the second stays reported: the officer sees a new one too
            run.act(inc, "register", at + dt.timedelta(minutes=10))
            run.act(inc, "dispatch", at + dt.timedelta(minutes=30))
            run.act(inc, "accept", at + dt.timedelta(hours=1))
            run.act(inc, "handle", at + dt.timedelta(hours=3), note="已处置完毕")
    # the dispatcher's street: cases for its enforcement team (demo-cgzf), one of them whistled
    street = [p for p in points if _in_area(conn, p, dispatcher.area_code)]
    for k, where in enumerate(street[:DEPARTMENT_WORK]):
        category, text = "SJ0102", "路边有一堆暴露垃圾，请执法队处理"
        at = now - dt.timedelta(hours=5 - k)
        inc = run.report(f"demo-cgzf-{k}", category, text, where, at)
        if inc is None:
            continue
        run.act(inc, "register", at + dt.timedelta(minutes=5), user=dispatcher)
        sent = at + dt.timedelta(minutes=15)
        run.act(inc, "dispatch", sent, user=dispatcher, department="CGZF-010")
        if k == 0:
            _whistle(run, inc, dispatcher, at + dt.timedelta(minutes=30))


def _whistle(run: _Run, incident: str, dispatcher: User, at: dt.datetime) -> None:
    """吹哨 with an on-time, a late and a missing check-in (the deadline has passed)."""
    conn = run.conn
    whistle = blow_whistle(conn, dispatcher, incident, list(WHISTLED), 60, "多部门联合处置", at)
    check_in(conn, _user(conn, "demo-cgzf"), whistle, None, at + dt.timedelta(minutes=20))
    check_in(conn, run.admin, whistle, WHISTLED[1], at + dt.timedelta(minutes=95))
    run.out.whistles += 1


def _in_area(conn: Connection[Any], where: tuple[float, float], area: str | None) -> bool:
    row = conn.execute(
        "SELECT 1 FROM areas WHERE code = %s AND valid_to IS NULL "
        "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (area, where[0], where[1]),
    ).fetchone()
    return row is not None


def load_history(
    conn: Connection[Any],
    settings: Settings,
    points: list[tuple[float, float]],
    reports: list[tuple[str, str]],
    now: dt.datetime | None = None,
) -> HistoryReport:
    """Dated cases at `points` (cycling through `reports`), then today's work for the users."""
    run = _Run(conn, settings, now or dt.datetime.now(dt.UTC))
    rng = random.Random(20261205)
    for i in range(HISTORY_INCIDENTS):
        where = points[i % len(points)]
        category, text = reports[i % len(reports)]
        days = HISTORY_DAYS * (1 - i / HISTORY_INCIDENTS)  # oldest first, up to yesterday
        at = run.now - dt.timedelta(days=days, hours=rng.uniform(0, 8))
        inc = run.report(f"demo-h-{i:03d}", category, text, where, at)
        if inc is not None:  # of the last 12 (the last ten days), every other one is stuck
            _life(run, rng, inc, at, stall=i >= HISTORY_INCIDENTS - 12 and i % 2 == 0)
    _todays_work(run, points, reports)
    return run.out
