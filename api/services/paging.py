"""Keyset paging of hand-built JSON lists: a list reads one row more than its page, and gives a
`next_cursor` only when that row exists (the GeoJSON lists do the same in SQL, gis.features)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def page_of(rows: Sequence[Any], limit: int, key: str = "id") -> tuple[list[Any], str | None]:
    """The page of `rows` (read with `LIMIT limit + 1`) and the cursor to the next one: the last
    kept row's `key`, or None when no row follows (a full last page leads nowhere)."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, str(page[-1][key]) if more else None
