"""The connection budget: what GridGov may open, checked against the server's max_connections.

    workers × (pool_max + LISTENERS) + db_reserve_connections
        ≤ max_connections − superuser_reserved_connections

Streams hold no connection of their own (api/services/workflow/stream_hub.py), so the budget does
not
grow with the number of open streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from api.settings import Settings

LISTENERS = 2  # per process: the stream hub and the tile cache invalidations


@dataclass(frozen=True)
class Budget:
    """Connections the settings need and the server offers to ordinary roles."""

    need: int
    available: int
    max_connections: int
    superuser_reserved: int

    @property
    def fits(self) -> bool:
        """Whether the budget fits the server."""
        return self.need <= self.available

    def explain(self) -> str:
        """One line for the log or the refusal."""
        return (
            f"connection budget: workers × (pool_max + {LISTENERS} listeners) + reserve = "
            f"{self.need}; the server allows {self.available} "
            f"(max_connections {self.max_connections} − superuser_reserved_connections "
            f"{self.superuser_reserved})"
        )


def needed(settings: Settings) -> int:
    """Connections this configuration may open at most, with the operators' reserve."""
    b = settings.budget
    return b.workers * (settings.db.pool_max + LISTENERS) + b.db_reserve_connections


def measure(conn: Connection[Any], settings: Settings) -> Budget:
    """The budget of `settings` against the server behind `conn`."""
    row = conn.execute(
        "SELECT current_setting('max_connections')::int AS max_c, "
        "current_setting('superuser_reserved_connections')::int AS su"
    ).fetchone()
    assert row is not None
    max_c, su = int(row["max_c"]), int(row["su"])
    return Budget(needed(settings), max_c - su, max_c, su)
