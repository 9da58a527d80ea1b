"""Importing departments, categories and routing rules from YAML (upsert, one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from psycopg import Connection, errors
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.errors import BadRequest
from api.open311.schemas import CategoryExtras

Code = str


class DepartmentIn(BaseModel):
    """A department: territorial (块) or functional (条), serving an area."""

    model_config = ConfigDict(extra="forbid")
    code: Code = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["territorial", "functional"]
    area: Code | None = None


class CategoryIn(BaseModel):
    """A category of the 部件/事件 classification (or a local 'X' one owned by an area)."""

    model_config = ConfigDict(extra="forbid")
    code: Code = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    parent: Code | None = None
    kind: Literal["component", "event"]
    time_limit: float | None = Field(default=None, gt=0)
    time_unit: Literal["natural_hours", "working_hours", "working_days"] | None = None
    urgency: Literal["normal", "urgent", "critical"] = "normal"
    area: Code | None = None
    require_photos: bool = False  # handle needs an 'after' photo (issue 16)
    # Open311 service definition extras: description, keywords, attributes (api/open311/schemas)
    extras: CategoryExtras | None = None


class RuleIn(BaseModel):
    """Routing rule: (category prefix, area prefix) → department."""

    model_config = ConfigDict(extra="forbid")
    category: str = ""
    area: str = ""
    department: Code
    priority: int = 0


class ConfigIn(BaseModel):
    """A configuration file."""

    model_config = ConfigDict(extra="forbid")
    departments: list[DepartmentIn] = []
    categories: list[CategoryIn] = []
    routing_rules: list[RuleIn] = []


@dataclass
class ConfigReport:
    """How many rows of each kind the file holds (all upserted)."""

    departments: int
    categories: int
    routing_rules: int


def read_config(path: Path) -> ConfigIn:
    """Parse and validate a YAML configuration file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ConfigIn.model_validate(data)
    except yaml.YAMLError as exc:
        raise BadRequest(f"{path.name} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        first = problems[0]
        raise BadRequest(
            f"{path.name}: {first['field']}: {first['problem']} ({len(problems)} problems)",
            {"problems": problems},
        ) from exc


def import_config(conn: Connection[Any], path: Path) -> ConfigReport:
    """Upsert everything in the file; nothing is stored if any row is refused."""
    cfg = read_config(path)
    try:
        _upsert(conn, cfg)
    except errors.IntegrityError as exc:
        detail = exc.diag.message_detail or exc.diag.message_primary or str(exc)
        raise BadRequest(f"{path.name} refers to something that does not exist: {detail}") from exc
    return ConfigReport(len(cfg.departments), len(cfg.categories), len(cfg.routing_rules))


def _upsert(conn: Connection[Any], cfg: ConfigIn) -> None:
    with conn.transaction():
        for d in cfg.departments:
            conn.execute(
                "INSERT INTO departments (code, name, kind, area_code) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
                "area_code = EXCLUDED.area_code",
                (d.code, d.name, d.kind, d.area),
            )
        # parents before children, whatever order the file lists them in
        for c in sorted(cfg.categories, key=lambda c: (_depth(c, cfg.categories), c.code)):
            if (c.time_limit is None) != (c.time_unit is None):
                raise BadRequest(
                    f"Category {c.code}: give both time_limit and time_unit, or neither."
                )
            conn.execute(
                "INSERT INTO categories (code, name, parent_code, kind, time_limit, time_unit, "
                "urgency, area_code, attributes, require_photos) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
                "parent_code = EXCLUDED.parent_code, kind = EXCLUDED.kind, "
                "time_limit = EXCLUDED.time_limit, time_unit = EXCLUDED.time_unit, "
                "urgency = EXCLUDED.urgency, area_code = EXCLUDED.area_code, "
                "attributes = EXCLUDED.attributes, require_photos = EXCLUDED.require_photos",
                (
                    c.code,
                    c.name,
                    c.parent,
                    c.kind,
                    c.time_limit,
                    c.time_unit,
                    c.urgency,
                    c.area,
                    Jsonb(c.extras.model_dump(exclude_none=True) if c.extras else {}),
                    c.require_photos,
                ),
            )
        for r in cfg.routing_rules:
            conn.execute(
                "INSERT INTO routing_rules (category_prefix, area_prefix, department_code, "
                "priority) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (category_prefix, area_prefix, department_code) "
                "DO UPDATE SET priority = EXCLUDED.priority",
                (r.category, r.area, r.department, r.priority),
            )


def _depth(c: CategoryIn, all_: list[CategoryIn]) -> int:
    by_code = {x.code: x for x in all_}
    depth, seen = 0, set()
    while c.parent and c.parent in by_code and c.code not in seen:
        seen.add(c.code)
        c, depth = by_code[c.parent], depth + 1
    return depth
