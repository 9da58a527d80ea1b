"""What the early-warning maps (hotspots, repeat locations) count: the incidents of a time window,
of one category or all, that a caller may see, and how many make a place worth showing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from psycopg import sql


@dataclass(frozen=True)
class Window:
    """Incidents of [since, until), of `category` (None: all) within `scope` (a fixed SQL
    condition over the incidents, with its `scope_params`); a place shows from `min_count`."""

    since: dt.datetime
    until: dt.datetime
    min_count: int
    category: str | None
    scope: sql.Composable
    scope_params: dict[str, Any]

    def params(self) -> dict[str, Any]:
        """The statement parameters the window's SQL names: %(since)s, %(until)s,
        %(min_count)s, %(category)s and the scope's own."""
        return {
            **self.scope_params,
            "since": self.since,
            "until": self.until,
            "min_count": self.min_count,
            "category": self.category,
        }
