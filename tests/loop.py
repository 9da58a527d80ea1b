"""Helpers for closed-loop tests: a cast of users, a settable clock, reporting and acting."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
G1, G2 = "110199001001001", "110199001001002"
COMMUNITY, STREET, DISTRICT = "110199001001", "110199001", "110199"


class Clock:
    """A clock the app reads through `app.state.clock`; tests move it by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@dataclass
class Cast:
    """Authorization headers of the users of the synthetic world."""

    disp: dict[str, str]  # dispatcher of street 甲 (110199001)
    district: dict[str, str]  # dispatcher of the district
    other_disp: dict[str, str]  # dispatcher of street 乙 (110199002)
    community_disp: dict[str, str]  # a dispatcher scoped to the community (no whistle)
    dept: dict[str, str]  # CITYMGMT-001, the routed department of SJ0102 in grid G1
    water: dict[str, str]
    sanitation: dict[str, str]
    officer: dict[str, str]  # grid officer of G1
    other_officer: dict[str, str]  # grid officer of G2
    resident: dict[str, str]
    neighbour: dict[str, str]  # another resident
    admin: dict[str, str]


def make_cast(token_for: Any) -> Cast:
    """Create every user of the cast."""
    return Cast(
        disp=token_for("disp", "dispatcher", STREET),
        district=token_for("dd", "dispatcher", DISTRICT),
        other_disp=token_for("disp2", "dispatcher", "110199002"),
        community_disp=token_for("cdisp", "dispatcher", COMMUNITY),
        dept=token_for("cm", "department", department="CITYMGMT-001"),
        water=token_for("water", "department", department="WATER"),
        sanitation=token_for("san", "department", department="SANITATION"),
        officer=token_for("off", "officer", G1),
        other_officer=token_for("off2", "officer", G2),
        resident=token_for("res", "resident"),
        neighbour=token_for("res2", "resident"),
        admin=token_for("root", "admin"),
    )


def report(client: Any, category: str = "SJ0102", headers: Any = None, **where: float) -> str:
    """Report at a point (default inside grid G1) and return the incident id."""
    body = {
        "category": category,
        "description": "路边暴露垃圾",
        "location": {"lon": where.get("lon", 116.010), "lat": where.get("lat", 39.020)},
    }
    r = client.post("/api/v1/incidents", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def act(client: Any, incident: str, headers: dict[str, str], action: str, **body: Any) -> Any:
    """POST one workflow action; returns the response."""
    return client.post(
        f"/api/v1/incidents/{incident}/actions", json={"action": action, **body}, headers=headers
    )


def ok(client: Any, incident: str, headers: dict[str, str], action: str, **body: Any) -> Any:
    """POST an action that must succeed; returns the incident document."""
    r = act(client, incident, headers, action, **body)
    assert r.status_code == 200, r.text
    return r.json()


def get(client: Any, incident: str, headers: dict[str, str] | None = None) -> Any:
    """GET the incident document as `headers`' user sees it."""
    r = client.get(f"/api/v1/incidents/{incident}", headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def steps(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The event log as (action, from, to, department, actor) tuples."""
    return [
        (e["action"], e["from_status"], e["to_status"], e["department"], e["actor"])
        for e in doc["events"]
    ]


# How to bring a fresh report (status `reported`) into each status, with the proper users.
PATHS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "reported": [],
    "registered": [("disp", "register", {})],
    "dispatched": [("disp", "register", {}), ("disp", "dispatch", {})],
    "in_progress": [("disp", "register", {}), ("disp", "dispatch", {}), ("dept", "accept", {})],
    "handled": [
        ("disp", "register", {}),
        ("disp", "dispatch", {}),
        ("dept", "accept", {}),
        ("dept", "handle", {"note": "清运完毕"}),
    ],
    "closed": [
        ("disp", "register", {}),
        ("disp", "dispatch", {}),
        ("dept", "accept", {}),
        ("dept", "handle", {"note": "清运完毕"}),
        ("officer", "verify", {"data": {"passed": True}}),
    ],
    "rejected": [("disp", "reject", {"data": {"reason": "invalid"}})],
    "suspended": [("disp", "register", {}), ("disp", "suspend", {"note": "待资金到位"})],
}


def advance_to(client: Any, cast: Cast, incident: str, status: str) -> dict[str, Any]:
    """Take a reported incident to `status`; returns the last incident document."""
    doc: dict[str, Any] = {}
    for who, action, body in PATHS[status]:
        doc = ok(client, incident, getattr(cast, who), action, **body)
    return doc


def at(value: str | None) -> dt.datetime | None:
    """An ISO timestamp of an API answer as a datetime (None stays None)."""
    return dt.datetime.fromisoformat(value) if value else None
