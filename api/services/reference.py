"""Reference tables (departments, categories, routing rules): their listings, and which of some
asked codes they do not hold."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import Connection

_KNOWN_SQL = {
    "departments": "SELECT code FROM departments WHERE code = ANY(%s)",
    "categories": "SELECT code FROM categories WHERE code = ANY(%s)",
}

Listed = Literal["departments", "categories", "routing_rules"]
_LISTING_SQL: dict[Listed, str] = {
    "departments": "SELECT code, name, kind, area_code FROM departments ORDER BY code",
    "categories": "SELECT code, name, parent_code, kind, time_limit, time_unit, urgency, "
    "area_code FROM categories ORDER BY code",
    # most specific first
    "routing_rules": "SELECT id, category_prefix, area_prefix, department_code, priority "
    "FROM routing_rules "
    "ORDER BY length(area_prefix) DESC, length(category_prefix) DESC, priority DESC, id",
}


def reference_rows(conn: Connection[Any], table: Listed) -> list[dict[str, Any]]:
    """Every row of a reference table, in its listing's order."""
    return conn.execute(_LISTING_SQL[table]).fetchall()


def unknown_codes(
    conn: Connection[Any], table: Literal["departments", "categories"], codes: list[str]
) -> list[str]:
    """The codes `table` does not hold, in the order asked (the caller words the refusal)."""
    known = {r["code"] for r in conn.execute(_KNOWN_SQL[table], (codes,)).fetchall()}
    return [c for c in codes if c not in known]
