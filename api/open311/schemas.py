"""The attribute format of a category (`categories.attributes`) and checking answers against it.

A category's `attributes` jsonb may hold (other keys are left to other features):

    {"description": "text shown as the service's description",
     "keywords": ["井盖", "manhole"],
     "attributes": [
        {"code": "COVER_STATE", "datatype": "singlevaluelist", "required": true,
         "description": "井盖是什么状态？", "order": 1,
         "values": [{"key": "missing", "name": "缺失"}, {"key": "broken", "name": "破损"}]}]}

Each attribute is an Open311 GeoReport v2 service-definition attribute: `datatype` is one of
string, number, datetime, text, singlevaluelist, multivaluelist; list datatypes need `values`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_TYPES = ("singlevaluelist", "multivaluelist")
MAX_ANSWER_CHARS = 1000

AttributeCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AttributeValue(BaseModel):
    """One option of a list attribute: `key` is sent back, `name` is shown."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    name: Text


class ServiceAttribute(BaseModel):
    """A question asked when reporting in a category (an Open311 service-definition attribute)."""

    model_config = ConfigDict(extra="forbid")

    code: AttributeCode
    datatype: Datatype
    description: Text
    required: bool = False
    variable: bool = Field(default=True, description="false: information only, no input")
    datatype_description: Text | None = None
    order: Annotated[int, Field(ge=1)] | None = None
    values: list[AttributeValue] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values_fit_datatype(self) -> ServiceAttribute:
        keys = [v.key for v in self.values]
        if self.datatype in LIST_TYPES and not self.values:
            raise ValueError(f"attribute {self.code}: a {self.datatype} needs values")
        if self.datatype not in LIST_TYPES and self.values:
            raise ValueError(f"attribute {self.code}: only list datatypes take values")
        if len(set(keys)) != len(keys):
            raise ValueError(f"attribute {self.code}: value keys must be unique")
        return self


class CategoryExtras(BaseModel):
    """The parts of `categories.attributes` that Open311 reads."""

    model_config = ConfigDict(extra="allow")

    description: Text | None = None
    keywords: list[Keyword] | Text | None = None
    attributes: list[ServiceAttribute] = Field(default_factory=list)

    @model_validator(mode="after")
    def _codes_and_orders_unique(self) -> CategoryExtras:
        codes = [a.code for a in self.attributes]
        if len(set(codes)) != len(codes):
            raise ValueError("attribute codes must be unique within a category")
        orders = [a.order for a in self.attributes if a.order is not None]
        if len(set(orders)) != len(orders):
            raise ValueError("attribute orders must be unique within a category")
        return self

    def ordered(self) -> list[ServiceAttribute]:
        """Attributes by `order`; those without one follow, in listed order, numbered on."""
        next_order = max((a.order or 0 for a in self.attributes), default=0) + 1
        filled = []
        for a in self.attributes:
            if a.order is None:
                a = a.model_copy(update={"order": next_order})
                next_order += 1
            filled.append(a)
        return sorted(filled, key=lambda a: a.order or 0)


Answer = str | float | list[str]


def check_answers(
    attributes: list[ServiceAttribute], raw: dict[str, list[str]], service: str
) -> tuple[dict[str, Answer], list[str]]:
    """Answers normalised by datatype, and every problem found (empty when all is well)."""
    problems: list[str] = []
    known = {a.code: a for a in attributes}
    for code in sorted(set(raw) - set(known)):
        listed = ", ".join(sorted(known)) or "none"
        problems.append(
            f"attribute[{code}] is not an attribute of service {service} "
            f"(its attributes: {listed})."
        )
    answers: dict[str, Answer] = {}
    for a in attributes:
        values = [v.strip() for v in raw.get(a.code, []) if v.strip()]
        if not a.variable:
            continue
        if not values:
            if a.required:
                problems.append(f"attribute[{a.code}] is required: {a.description}")
            continue
        answer, problem = _answer(a, values)
        if problem:
            problems.append(problem)
        elif answer is not None:
            answers[a.code] = answer
    return answers, problems


def _answer(a: ServiceAttribute, values: list[str]) -> tuple[Answer | None, str | None]:
    """One attribute's answer in its datatype, or why it cannot be accepted."""
    name = f"attribute[{a.code}]"
    if a.datatype != "multivaluelist" and len(values) > 1:
        return None, f"{name} takes one value, got {len(values)}."
    if any(len(v) > MAX_ANSWER_CHARS for v in values):
        return None, f"{name} is limited to {MAX_ANSWER_CHARS} characters."
    keys = [v.key for v in a.values]
    value = values[0]
    if a.datatype in LIST_TYPES:
        unknown = [v for v in values if v not in keys]
        if unknown:
            return None, f"{name} must be one of {', '.join(keys)}; got {', '.join(unknown)}."
        return (values if a.datatype == "multivaluelist" else value), None
    if a.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return None, f"{name} must be a number; got {value!r}."
        return number, None
    if a.datatype == "datetime":
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, f"{name} must be an ISO 8601 date/time such as 2025-01-31T08:00:00+08:00."
        return when.isoformat(), None
    if a.datatype == "string" and ("\n" in value or "\r" in value):
        return None, f"{name} is a single line; use no line breaks."
    return value, None


def read_extras(raw: Any) -> CategoryExtras:
    """A category's extras from its jsonb; raises pydantic.ValidationError when malformed."""
    return CategoryExtras.model_validate(raw or {})
