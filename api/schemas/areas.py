"""Request bodies for editing areas: GeoJSON Features with area properties, split and merge."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Level = Literal["district", "street", "community", "grid"]
VersionId = Annotated[int, Field(ge=1, le=2**63 - 1, description="an ETag's version id")]
MAX_NESTING = 32  # levels of objects/arrays in `attributes` (issue 15: 500 levels gave 500)


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counting no further than `limit` + 1."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def shallow(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse objects nested deeper than MAX_NESTING levels (422 validation_failed)."""
    if value is not None and _depth(value, MAX_NESTING) > MAX_NESTING:
        raise ValueError(f"JSON objects may be nested at most {MAX_NESTING} levels deep")
    return value


Attributes = Annotated[dict[str, Any] | None, AfterValidator(shallow)]


class AreaProperties(BaseModel):
    """Properties of an area Feature; absent fields keep their value on PUT."""

    model_config = ConfigDict(extra="ignore")  # clients send back GET's read-only properties

    code: Code | None = Field(default=None, description="generated under the parent if absent")
    name: Name | None = None
    level: Level | None = None
    parent_code: Code | None = None
    attributes: Attributes = None
    note: Note | None = Field(default=None, description="why: kept with the version")


class AreaFeature(BaseModel):
    """A GeoJSON Feature whose geometry is a Polygon/MultiPolygon (null on PUT: keep it)."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None = None
    properties: AreaProperties = Field(default_factory=AreaProperties)


class SplitProperties(BaseModel):
    """Names of the pieces (north→south, west→east) and a note."""

    model_config = ConfigDict(extra="forbid")

    names: list[Name] | None = Field(default=None, max_length=999)
    note: Note | None = None


class SplitFeature(BaseModel):
    """A GeoJSON Feature whose geometry is the cutting LineString/MultiLineString."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: SplitProperties = Field(default_factory=SplitProperties)


class MergeIn(BaseModel):
    """Siblings to merge; versions by code may replace the If-Match list."""

    model_config = ConfigDict(extra="forbid")

    codes: list[Code] = Field(min_length=2, max_length=100)
    name: Name | None = None
    code: Code | None = Field(default=None, description="generated under the parent if absent")
    attributes: Attributes = None
    note: Note | None = None
    versions: dict[str, VersionId] | None = Field(
        default=None, description="version id (ETag) per code, instead of If-Match"
    )
