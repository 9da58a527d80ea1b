"""The calendar range GridGov accepts in dates: arithmetic near year 1 or 9999 overflows."""

from __future__ import annotations

import datetime as dt

MIN_YEAR, MAX_YEAR = 1900, 2200


def check_year(value: dt.date | dt.datetime) -> None:
    """ValueError (the callers' 400/422) for a date outside MIN_YEAR…MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"dates must lie between the years {MIN_YEAR} and {MAX_YEAR}")
