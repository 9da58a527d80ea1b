"""Deadlines on the working calendar (api/services/workflow/deadlines.py): weekends, holidays, 调休."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from api.services.intake.report import calendar_from
from api.services.workflow.deadlines import WorkingCalendar, due_at
from api.settings import CalendarSettings
from tests.loop import SH

FRI_15 = dt.datetime(2035, 11, 9, 15, 0, tzinfo=SH)  # Friday
HOLIDAY = dt.date(2035, 11, 12)  # the Monday after
CAL = WorkingCalendar(holidays=frozenset({HOLIDAY}))


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2035, month, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "limit", "unit", "expected"),
    [
        # Friday 15:00 + 8 working hours: 2 h Friday, weekend, holiday Monday, 6 h Tuesday.
        (FRI_15, 8, "working_hours", local(13, 15)),
        (FRI_15, 1, "working_days", local(13, 15)),
        (FRI_15, 2, "working_hours", local(9, 17)),  # exactly to closing time
        (FRI_15, Decimal("0.5"), "working_days", local(13, 11)),
        # Natural hours ignore the calendar.
        (FRI_15, 6, "natural_hours", local(9, 21)),
        (FRI_15, 72, "natural_hours", local(12, 15)),
        # Reported on Saturday night: counting starts Tuesday 09:00 (Monday is a holiday).
        (local(10, 22), 3, "working_hours", local(13, 12)),
        # Before opening on a working day: counting starts at 09:00.
        (local(13, 7, 30), 1, "working_hours", local(13, 10)),
        # After closing: the next working day.
        (local(13, 18), 1, "working_hours", local(14, 10)),
        # Five working days from Wednesday 10:00: Thu, Fri, Mon, Tue, Wed 10:00 next week.
        (local(14, 10), 5, "working_days", local(21, 10)),
        (FRI_15, None, None, None),  # no limit, no deadline
    ],
)
def test_due_at(start, limit, unit, expected):
    assert due_at(start, limit, unit, CAL) == expected


def test_make_up_working_day_counts():
    """调休: a Saturday declared a working day is counted like any other."""
    saturday = dt.date(2035, 11, 10)
    cal = WorkingCalendar(holidays=frozenset({HOLIDAY}), extra_workdays=frozenset({saturday}))
    assert cal.add_working_hours(FRI_15, 8) == local(10, 15)


def test_unknown_unit_is_an_error():
    with pytest.raises(ValueError, match="unknown time unit"):
        due_at(FRI_15, 1, "fortnights", CAL)


def test_calendar_from_settings():
    cal = calendar_from(
        CalendarSettings(
            weekdays=[1, 2, 3, 4, 5, 6],
            day_start=dt.time(8, 30),
            day_end=dt.time(12, 0),
            holidays=[HOLIDAY],
        )
    )
    assert cal.is_workday(dt.date(2035, 11, 10))  # Saturday is a working day here
    assert not cal.is_workday(HOLIDAY) and not cal.is_workday(dt.date(2035, 11, 11))
    # Friday 15:00 is after this calendar's day: Saturday 08:30 + 3.5 h fills Saturday.
    assert cal.add_working_days(FRI_15, 1) == local(10, 12)
