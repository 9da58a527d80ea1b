"""Open311 services: our categories without sub-classes, grouped by their major class."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import Connection
from pydantic import ValidationError

from api.errors import BadRequest, NotFound
from api.open311.schemas import CategoryExtras, ServiceAttribute, read_extras
from web_map.i18n import CHINESE, N_, Translator

# Every category without sub-classes, with the name of its top-level ancestor (the major
# class). The category table is small reference data, so walking it whole is cheap.
SERVICES_SQL = """
WITH RECURSIVE chain AS (
    SELECT c.code AS leaf, c.code, c.parent_code, c.name, 0 AS depth FROM categories c
    UNION ALL
    SELECT chain.leaf, p.code, p.parent_code, p.name, chain.depth + 1
    FROM categories p JOIN chain ON p.code = chain.parent_code
    WHERE chain.depth < 8
), root AS (
    SELECT DISTINCT ON (leaf) leaf, name FROM chain ORDER BY leaf, depth DESC
)
SELECT c.code, c.name, c.kind, c.time_limit, c.time_unit, c.urgency, c.attributes,
       root.name AS group_name
FROM categories c JOIN root ON root.leaf = c.code
WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_code = c.code)
  AND (%(code)s::text IS NULL OR c.code = %(code)s)
ORDER BY c.code
"""

# search words, in both languages on purpose (a resident's app may search in either)
KIND_KEYWORDS = {"component": "部件, component", "event": "事件, event"}
# The words a person reads (a resident's app shows them): catalogue ids, in the caller's language
UNIT_TEXT = {
    "natural_hours": (N_("{n} hour"), N_("{n} hours")),
    "working_hours": (N_("{n} working hour"), N_("{n} working hours")),
    "working_days": (N_("{n} working day"), N_("{n} working days")),
}
URGENCY_TEXT = {"normal": N_("normal"), "urgent": N_("urgent"), "critical": N_("critical")}
DESCRIPTION_TEXT = N_("{name} ({group}); handling time limit {limit}; urgency {urgency}.")
DESCRIPTION_NO_LIMIT = N_("{name} ({group}); urgency {urgency}.")


def limit_text(limit: Decimal | None, unit: str | None, tr: Translator = CHINESE) -> str | None:
    """A category's handling time limit in `tr`'s words, e.g. '1 working day', '6 hours'."""
    if limit is None or unit is None:
        return None
    amount = Decimal(limit).normalize()
    if unit not in UNIT_TEXT:  # (the schema allows only these)
        return f"{amount:f} {unit}"
    one, many = UNIT_TEXT[unit]
    n = f"{amount:f}"
    return tr(one if amount == 1 else many, n=n)


@dataclass
class Service:
    """One category as an Open311 service."""

    code: str
    name: str
    group: str
    kind: str
    time_limit: Decimal | None
    time_unit: str | None
    urgency: str
    raw_extras: dict[str, Any]

    def extras(self) -> CategoryExtras:
        """The category's Open311 extras; a malformed configuration is a clear 400."""
        try:
            return read_extras(self.raw_extras)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise BadRequest(
                f"The definition of service {self.code} is misconfigured "
                f"({where}: {first.get('msg')}); please tell the GridGov administrator."
            ) from exc

    def has_attributes(self) -> bool:
        """Whether the category asks questions (Open311 `metadata`), without full validation."""
        listed = self.raw_extras.get("attributes")
        return isinstance(listed, list) and len(listed) > 0

    def limit_text(self, tr: Translator = CHINESE) -> str | None:
        """The handling time limit in `tr`'s words, e.g. '1 working day'."""
        return limit_text(self.time_limit, self.time_unit, tr)

    def description(self, tr: Translator = CHINESE) -> str:
        """The configured description (data: as written), else name, group, time limit and
        urgency in `tr`'s words."""
        configured = self.raw_extras.get("description")
        if isinstance(configured, str) and configured.strip():
            return configured
        limit = self.limit_text(tr)
        words = {
            "name": self.name,
            "group": self.group,
            "urgency": tr.word(URGENCY_TEXT, self.urgency),
        }
        if limit:
            return tr(DESCRIPTION_TEXT, limit=limit, **words)
        return tr(DESCRIPTION_NO_LIMIT, **words)

    def keywords(self) -> str:
        """Configured keywords, else the group and the kind (部件/事件) in both languages."""
        configured = self.raw_extras.get("keywords")
        if isinstance(configured, list) and all(isinstance(k, str) for k in configured):
            return ", ".join(configured)
        if isinstance(configured, str) and configured.strip():
            return configured
        return f"{self.group}, {KIND_KEYWORDS.get(self.kind, self.kind)}"

    def as_open311(self, tr: Translator = CHINESE) -> dict[str, Any]:
        """The GET services entry (its description in `tr`'s language)."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description(tr),
            "metadata": self.has_attributes(),
            "type": "realtime",
            "keywords": self.keywords(),
            "group": self.group,
        }


def _service(row: dict[str, Any]) -> Service:
    return Service(
        code=row["code"],
        name=row["name"],
        group=row["group_name"],
        kind=row["kind"],
        time_limit=row["time_limit"],
        time_unit=row["time_unit"],
        urgency=row["urgency"],
        raw_extras=row["attributes"] if isinstance(row["attributes"], dict) else {},
    )


def list_services(conn: Connection[Any]) -> list[Service]:
    """Every service, by code."""
    return [_service(r) for r in conn.execute(SERVICES_SQL, {"code": None}).fetchall()]


def get_service(conn: Connection[Any], code: str) -> Service:
    """One service; 404 when no category without sub-classes has this code."""
    row = conn.execute(SERVICES_SQL, {"code": code}).fetchone()
    if row is None:
        raise NotFound(
            f"service_code {code!r} was not found. GET services.json lists the service codes."
        )
    return _service(row)


# GeoReport v2's field order for a service-definition attribute (`values`: [{key, name}]).
ATTRIBUTE_FIELDS = (
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
)


def attribute_json(a: ServiceAttribute) -> dict[str, Any]:
    """One attribute of a service definition, in the spec's field order."""
    fields = a.model_dump()
    return {name: fields[name] for name in ATTRIBUTE_FIELDS}


def service_definition(conn: Connection[Any], code: str) -> dict[str, Any]:
    """GET services/{code}: the attributes a report in this service may or must carry."""
    service = get_service(conn, code)
    attributes = service.extras().ordered()
    return {"service_code": service.code, "attributes": [attribute_json(a) for a in attributes]}
