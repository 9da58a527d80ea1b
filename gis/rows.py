"""Reading the row of a statement that always returns exactly one (an aggregate, a RETURNING)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import Connection, sql


def one_row(
    conn: Connection[Any], query: str | sql.SQL | sql.Composed, params: Mapping[str, Any]
) -> Any:
    """The one row `query` returns (the connection's row factory decides its type)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row
