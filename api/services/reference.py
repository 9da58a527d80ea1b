"""Reference tables (departments, categories): which of some asked codes they do not hold."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import Connection

_KNOWN_SQL = {
    "departments": "SELECT code FROM departments WHERE code = ANY(%s)",
    "categories": "SELECT code FROM categories WHERE code = ANY(%s)",
}


def unknown_codes(
    conn: Connection[Any], table: Literal["departments", "categories"], codes: list[str]
) -> list[str]:
    """The codes `table` does not hold, in the order asked (the caller words the refusal)."""
    known = {r["code"] for r in conn.execute(_KNOWN_SQL[table], (codes,)).fetchall()}
    return [c for c in codes if c not in known]
