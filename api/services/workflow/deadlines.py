"""Handling deadlines on a working calendar (working days, working hours, holidays)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days Mon–Fri by default, one daily span of working hours, and holidays."""

    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(17, 0)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)  # 调休 make-up days

    def is_workday(self, day: dt.date) -> bool:
        """Whether `day` is a working day."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _span(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(day, self.day_start, self.tz),
            dt.datetime.combine(day, self.day_end, self.tz),
        )

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant `hours` of working time after `start`."""
        remaining = dt.timedelta(hours=hours)
        cursor = start.astimezone(self.tz)
        while True:
            day = cursor.date()
            if self.is_workday(day):
                open_, close = self._span(day)
                cursor = max(cursor, open_)
                if cursor < close:
                    available = close - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            cursor = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), self.tz)

    def add_working_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """`days` full working days after `start` (a day counts as one working-hours span)."""
        hours_per_day = (
            dt.datetime.combine(dt.date.min, self.day_end)
            - dt.datetime.combine(dt.date.min, self.day_start)
        ).total_seconds() / 3600
        return self.add_working_hours(start, days * hours_per_day)


def due_at(
    start: dt.datetime, limit: Decimal | float | None, unit: str | None, calendar: WorkingCalendar
) -> dt.datetime | None:
    """Deadline for a time limit; natural hours ignore the calendar."""
    if limit is None or unit is None:
        return None
    amount = float(limit)
    if unit == "natural_hours":
        return start + dt.timedelta(hours=amount)
    if unit == "working_hours":
        return calendar.add_working_hours(start, amount)
    if unit == "working_days":
        return calendar.add_working_days(start, amount)
    raise ValueError(f"unknown time unit {unit!r}")
