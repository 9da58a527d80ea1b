"""A hand-built week of the closed loop, made through the real API with a settable clock.

The week is Monday 2025-11-03 … Sunday 2025-11-09 (Asia/Shanghai). Every case and the figure it
contributes is listed in docs/metrics.md ("The worked example"); tests assert those numbers.
BJ0101 (上水井盖) has a 6 natural-hour limit and is routed to WATER in street 甲, so a dispatch at
t is due at t + 6 h.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tests.loop import SH, Cast, Clock, ok, report

G2_POINT = {"lon": 116.035, "lat": 39.020}
WEEK_FROM, WEEK_TO = "2025-11-03", "2025-11-09"
QUERY_AT = dt.datetime(2025, 11, 12, 12, 0, tzinfo=SH)  # Wednesday after the week


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in November 2025."""
    return dt.datetime(2025, 11, day, hour, minute, tzinfo=SH)


@dataclass
class History:
    """The incident ids of the worked example, by letter, and the whistle ids."""

    ids: dict[str, str] = field(default_factory=dict)
    whistles: list[int] = field(default_factory=list)


def build_week(client: Any, cast: Cast, clock: Clock) -> History:
    """Make cases A–J, the rework, the return, the extension and two whistles."""
    h = History()

    def step(when: dt.datetime, letter: str, who: dict[str, str], action: str, **body: Any) -> None:
        clock.now = when
        ok(client, h.ids[letter], who, action, **body)

    def new(when: dt.datetime, letter: str, category: str = "BJ0101", **where: float) -> None:
        clock.now = when
        h.ids[letter] = report(client, category, headers=cast.resident, **where)

    def dispatched(day: int, hour: int, letter: str, **where: float) -> None:
        """Reported at day/hour:00, registered 5 and dispatched (to WATER) 10 minutes later."""
        new(at(day, hour), letter, **where)
        step(at(day, hour, 5), letter, cast.disp, "register")
        step(at(day, hour, 10), letter, cast.disp, "dispatch")

    def accepted(day: int, hour: int, letter: str, **where: float) -> None:
        """Dispatched as above, and accepted by WATER 20 minutes after the report."""
        dispatched(day, hour, letter, **where)
        step(at(day, hour, 20), letter, cast.water, "accept")

    def whistle(when: dt.datetime, letter: str, departments: list[str]) -> None:
        clock.now = when
        r = client.post(
            f"/api/v1/incidents/{h.ids[letter]}/whistle",
            json={"departments": departments, "deadline_minutes": 30},
            headers=cast.disp,
        )
        assert r.status_code == 201, r.text
        h.whistles.append(int(r.json()["id"]))

    def check_in(when: dt.datetime, whistle_id: int, who: dict[str, str]) -> None:
        clock.now = when
        r = client.post(f"/api/v1/whistles/{whistle_id}/check-in", headers=who)
        assert r.status_code == 200, r.text

    # I: reported on the Sunday before, dispatched 22:10 (due Mon 04:10), handled late in the week
    dispatched(2, 22, "I")
    step(at(3, 8), "I", cast.water, "accept")
    step(at(3, 9), "I", cast.water, "handle", note="已补装")
    step(at(3, 9, 30), "I", cast.officer, "verify", data={"passed": True})
    # A: on time all the way (handled after 2 h)
    accepted(3, 10, "A")
    step(at(3, 12, 10), "A", cast.water, "handle", note="已补装")
    step(at(3, 13), "A", cast.officer, "verify", data={"passed": True})
    # B: handled late (8 h), reworked once, closed the next day
    accepted(3, 14, "B")
    step(at(3, 22, 10), "B", cast.water, "handle", note="已补装")
    step(at(4, 9), "B", cast.officer, "verify", data={"passed": False})
    step(at(4, 10), "B", cast.water, "handle", note="重新补装")
    step(at(4, 11), "B", cast.officer, "verify", data={"passed": True})
    # C: returned by WATER, re-dispatched to CITYMGMT-001, handled on time
    dispatched(4, 12, "C")
    step(at(4, 12, 30), "C", cast.water, "return", note="非本单位管辖")
    step(at(4, 12, 40), "C", cast.disp, "dispatch", department="CITYMGMT-001")
    step(at(4, 13), "C", cast.dept, "accept")
    step(at(4, 14, 40), "C", cast.dept, "handle", note="已处理")
    step(at(4, 15), "C", cast.officer, "verify", data={"passed": True})
    # D: accepted, never handled in the week (due Wed 15:10); a whistle with one late check-in
    accepted(5, 9, "D")
    whistle(at(5, 10), "D", ["WATER", "SANITATION"])
    check_in(at(5, 10, 20), h.whistles[0], cast.water)
    check_in(at(5, 10, 45), h.whistles[0], cast.sanitation)
    # E (grid 2): extension approved to Thu 20:00, handled 18:00; a whistle nobody answers
    accepted(6, 9, "E", **G2_POINT)
    until = at(6, 20).isoformat()
    step(at(6, 10), "E", cast.water, "request_extension", note="需调配井盖", data={"until": until})
    step(at(6, 10, 30), "E", cast.disp, "approve_extension", data={"approved": True})
    whistle(at(6, 11), "E", ["SANITATION"])
    step(at(6, 18), "E", cast.water, "handle", note="已补装")
    step(at(6, 18, 30), "E", cast.other_officer, "verify", data={"passed": True})
    # F: registered, then suspended (挂账): open, never due
    new(at(7, 9), "F")
    step(at(7, 9, 5), "F", cast.disp, "register")
    step(at(7, 9, 10), "F", cast.disp, "suspend", note="待资金到位")
    # G: exposed rubbish fixed on the spot by the grid officer; H: the same reported again
    new(at(7, 10), "G", "SJ0102")
    step(at(7, 10, 30), "G", cast.officer, "self_handle", note="已清理")
    step(at(7, 11), "G", cast.officer, "verify", data={"passed": True})
    new(at(7, 12), "H", "SJ0102")
    step(
        at(7, 12, 10),
        "H",
        cast.disp,
        "reject",
        data={"reason": "duplicate", "duplicate_of": h.ids["G"]},
    )
    # after the week: J reported, D finally handled (neither changes the week's figures)
    new(at(10, 10), "J")
    step(at(11, 10), "D", cast.water, "handle", note="已补装")
    clock.now = QUERY_AT
    return h
