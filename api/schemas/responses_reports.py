"""Response bodies of the notification outbox and the reporter's side (documentation only)."""

from __future__ import annotations

from api.schemas.responses import Object, Open


class Notifications(Open):
    notifications: list[Object]
    numberReturned: int
    next_cursor: str | None


class Outcome(Open):
    id: str
    status: str
    status_text: str
    steps: list[Object]
    can_rate: bool


class MyReports(Open):
    reports: list[Object]
    numberReturned: int
    next_cursor: str | None
