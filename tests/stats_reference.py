"""A plain-Python reading of docs/metrics.md, written apart from the SQL, to check it against.

It walks each incident's log event by event, the way the definitions are worded, and counts the
same facts; `tests/test_stats_random.py` compares it with `GET /api/v1/stats` on random
histories. Nothing here is shared with `api/services/evaluation/query.py`; only the names of
the facts come from `api.db.models_evaluation`, as the columns both sides fill.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from api.db.models_evaluation import CHECKINS, SETTLED

DISTINCT = ("reported", "registered", "handled", "closed", "rejected")
COUNTED = ("dispatched", "returned", "open", "overdue", *SETTLED, *CHECKINS)
DEADLINE_SETTERS = ("dispatch", "approve_extension", "reopen")
DEADLINE_CLEARERS = ("suspend", "return", "self_handle")
EPISODE_ENDS = ("dispatch", "return", "self_handle")


@dataclass
class Group:
    """What one row counts: incident sets for distinct counts, tallies, handling seconds."""

    sets: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    tally: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    handling_s: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The counts and handling times as the API names them."""
        out: dict[str, Any] = {k: len(self.sets[k]) for k in DISTINCT}
        out |= {k: self.tally[k] for k in COUNTED}
        out["checkin_missed"] = out["checkin_due"] - out["checkin_on_time"]
        out["handling_n"] = len(self.handling_s)
        seconds = sorted(self.handling_s)  # hours = seconds / 3600, rounded last
        mean = sum(seconds) / len(seconds) if seconds else None
        out["avg_handling_hours"] = None if mean is None else round(mean / 3600, 2)
        out["p90_handling_hours"] = round(_p90(seconds) / 3600, 2) if seconds else None
        return out


def _p90(values: list[float]) -> float:
    """percentile_cont(0.9): linear interpolation at position 0.9 × (n − 1)."""
    pos = 0.9 * (len(values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (pos - lo) * (values[hi] - values[lo])


def _due(event: dict[str, Any]) -> dt.datetime | None:
    value = event["data"].get("due_at") if event["action"] in DEADLINE_SETTERS else None
    return dt.datetime.fromisoformat(value) if value else None


def deadline_before(log: list[dict[str, Any]], stop: int) -> dt.datetime | None:
    """The deadline in force just before log[stop] (stop = len(log): after the whole log)."""
    due = None
    for event in log[:stop]:
        if event["action"] in DEADLINE_SETTERS:
            due = _due(event)
        elif event["action"] in DEADLINE_CLEARERS:
            due = None
    return due


def load(conn: Connection[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every incident with its whole log (id order), and every whistle check-in."""
    incidents = conn.execute(
        "SELECT id, reported_at, grid_code, category_code FROM incidents ORDER BY id"
    ).fetchall()
    events = conn.execute(
        "SELECT id, incident_id, at, action, department_code AS dept, data "
        "FROM incident_events ORDER BY id"
    ).fetchall()
    logs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        logs[e["incident_id"]].append(e)
    out = [{**i, "log": logs[i["id"]]} for i in incidents]
    checkins = conn.execute(
        "SELECT w.incident_id, w.deadline_at, k.department_code AS dept, k.checked_in_at "
        "FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id"
    ).fetchall()
    return out, checkins


def evaluate(
    incidents: list[dict[str, Any]],
    checkins: list[dict[str, Any]],
    start: dt.datetime,
    t_end: dt.datetime,
    key: str,
) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """Rows (by department, grid or category) and the total, for the period [start, t_end)."""
    groups: dict[Any, Group] = defaultdict(Group)
    total = Group()

    def inside(when: dt.datetime | None) -> bool:
        return when is not None and start <= when < t_end

    def count(inc: dict[str, Any], dept: str | None, metric: str, seconds: float = 0) -> None:
        group_key = {"department": dept, "area": inc["grid_code"], "category": inc["category_code"]}
        for g in (groups[group_key[key]], total):
            if metric in DISTINCT:
                g.sets[metric].add(inc["id"])
            elif metric == "handling_s":
                g.handling_s.append(seconds)
            else:
                g.tally[metric] += 1

    for inc in incidents:
        if inc["reported_at"] >= t_end:
            continue
        log = [e for e in inc["log"] if e["at"] < t_end]
        _activity(inc, log, inside, count)
        _episodes(inc, log, inside, t_end, count)
        _closing(inc, log, inside, t_end, count)
    by_id = {inc["id"]: inc for inc in incidents}
    for k in checkins:
        settled = min(x for x in (k["checked_in_at"], k["deadline_at"]) if x is not None)
        if inside(settled):
            inc = by_id[k["incident_id"]]
            count(inc, k["dept"], "checkin_due")
            if k["checked_in_at"] is not None and k["checked_in_at"] <= k["deadline_at"]:
                count(inc, k["dept"], "checkin_on_time")
    return {code: g.figures() for code, g in groups.items()}, total.figures()


def _activity(inc: dict[str, Any], log: list[dict[str, Any]], inside: Any, count: Any) -> None:
    names = {
        "report": "reported",
        "register": "registered",
        "dispatch": "dispatched",
        "return": "returned",
        "reject": "rejected",
        "handle": "handled",
        "self_handle": "handled",
    }
    for e in log:
        if not inside(e["at"]):
            continue
        if e["action"] in names:
            count(inc, e["dept"], names[e["action"]])
        elif e["action"] == "verify" and e["data"].get("passed") is True:
            count(inc, e["dept"], "closed")


def _episodes(
    inc: dict[str, Any], log: list[dict[str, Any]], inside: Any, t_end: dt.datetime, count: Any
) -> None:
    for i, start in enumerate(log):
        if start["action"] != "dispatch":
            continue
        end = next((j for j in range(i + 1, len(log)) if log[j]["action"] in EPISODE_ENDS), None)
        stop = len(log) if end is None else end
        handled = next((j for j in range(i + 1, stop) if log[j]["action"] == "handle"), None)
        due = deadline_before(log, stop if handled is None else handled)
        handled_at = None if handled is None else log[handled]["at"]
        end_at = None if end is None else log[end]["at"]
        settled = None
        if due is not None:
            if handled_at is not None and handled_at <= due:
                settled = handled_at
            elif due < t_end and (end_at is None or end_at > due):
                settled = due
        if inside(settled):
            count(inc, start["dept"], "handle_due")
            if settled == handled_at:
                count(inc, start["dept"], "handle_on_time")
        if handled_at is not None and inside(handled_at):
            seconds = (handled_at - start["at"]).total_seconds()
            count(inc, start["dept"], "handling_s", seconds)


def _closing(
    inc: dict[str, Any], log: list[dict[str, Any]], inside: Any, t_end: dt.datetime, count: Any
) -> None:
    passes = [j for j, e in enumerate(log) if e["action"] == "verify" and e["data"]["passed"]]
    closed = passes[0] if passes else None
    closed_at = None if closed is None else log[closed]["at"]
    rejected = any(e["action"] == "reject" for e in log)
    reworks = sum(1 for e in log if e["action"] == "verify" and not e["data"]["passed"])
    stop = len(log) if closed is None else closed
    due = deadline_before(log, stop)
    last_end = next((e for e in reversed(log[:stop]) if e["action"] in EPISODE_ENDS), None)
    dept = last_end["dept"] if last_end is not None and last_end["action"] == "dispatch" else None
    settled = None
    if closed_at is not None and (due is None or closed_at <= due):
        settled = closed_at
    elif not rejected and due is not None and due < t_end:
        settled = due
    if inside(settled):
        count(inc, dept, "close_due")
        if closed_at is not None:
            count(inc, dept, "close_done")
        if settled == closed_at:
            count(inc, dept, "close_on_time")
        if reworks:
            count(inc, dept, "reworked")
    if closed_at is None and not rejected:
        count(inc, dept, "open")
        if due is not None and due < t_end:
            count(inc, dept, "overdue")
