"""Response bodies as the OpenAPI document declares them (documentation only, never validated).

Routes return bytes PostGIS built or dicts services built; these models describe those bodies for
/openapi.json (api/openapi.py attaches them). They name the members every answer carries and
leave the rest open (extra members allowed), so the document stays true as bodies grow.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Object = dict[str, Any]


class Open(BaseModel):
    """A JSON object whose listed members are always present; others may follow."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine code, a message for people, structured details."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="e.g. not_found, validation_failed, stale_version")
    message: str
    details: Object = Field(description="e.g. {'problems': [{field, problem}]} for 422")


class ErrorBody(BaseModel):
    """Every GridGov error: {"error": {code, message, details}}."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


class OgcException(BaseModel):
    """An OGC API exception (Features Part 1, 7.5): GridGov's error code and its message."""

    code: str
    description: str


class Open311Error(BaseModel):
    """One Open311 error: the HTTP status as `code` and a description."""

    code: int
    description: str


class Health(Open):
    status: Literal["ok"]
    database: Literal["ok"]
    postgis: str
    reads: dict[str, str | None] = Field(
        description="where lag-tolerant reads go: replica or primary, and the replica's state"
    )


class Feature(Open):
    """A GeoJSON Feature (RFC 7946); `id` is an area code, a public incident id or a number."""

    type: Literal["Feature"]
    geometry: Object | None
    properties: Object | None


class FeatureCollection(Open):
    """A GeoJSON FeatureCollection, maybe with foreign members (parameters, links…)."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class FeaturePage(FeatureCollection):
    """A keyset-paged FeatureCollection: pass `next_cursor` back as `cursor` (null: last page)."""

    next_cursor: str | None
    numberReturned: int


class OgcItems(FeatureCollection):
    """OGC API – Features items: offset-paged, with counts and next/prev links."""

    numberMatched: int
    numberReturned: int
    links: list[Object]


class AreaChange(Feature):
    """The saved (or previewed, or retired) area with what the change does."""

    warnings: FeatureCollection
    impact: Object


class AreasChange(FeatureCollection):
    """The areas a split or merge created, the codes it retired and what it does."""

    retired: list[Any]
    warnings: FeatureCollection
    impact: Object


class Located(Open):
    location: Object
    assignment: Object
    departments: list[Object]


class Incident(Open):
    """An incident: the public view carries these members; its reporter/staff see more."""

    id: str
    status: str
    category: Object
    location: Object


class PhotosAdded(Open):
    """Photos of one incident (issue 16): those just added, or the list after hiding one."""

    incident: str
    photos: list[Object]


class PossibleDuplicates(Open):
    id: str
    possible_duplicates: list[Object]


class Departments(Open):
    departments: list[Object]


class Categories(Open):
    categories: list[Object]


class RoutingRules(Open):
    routing_rules: list[Object]


class Catalogue(Open):
    """The 4+X catalogue of a place: its areas and the categories offered there."""

    areas: list[Object]
    categories: list[Object]


class Whistle(Open):
    id: int
    incident: str
    open: bool
    check_ins: list[Object]


class Whistles(Open):
    whistles: list[Object]
    numberReturned: int
    next_cursor: str | None


class Session(Open):
    user: Object
    csrf_token: str | None


class TileJSON(Open):
    tilejson: str
    tiles: list[str]
    vector_layers: list[Object]


class Stats(Open):
    period: Object
    group_by: str
    rows: list[Object]
    total: Object


class Flags(Open):
    period: Object
    thresholds: Object
    flags: list[Object]
    matched: int  # how many flags there are (`flags`: the first `limit` of them)


class Trend(Open):
    period: Object
    code: str
    interval: str
    series: list[Object]


class OgcLanding(Open):
    links: list[Object]


class OgcConformance(Open):
    conformsTo: list[str]


class OgcCollections(Open):
    links: list[Object]
    collections: list[Object]


class OgcCollection(Open):
    id: str
    links: list[Object]


class Open311Discovery(Open):
    changeset: str
    endpoints: list[Object]


class Open311Service(Open):
    service_code: str
    service_name: str


class Open311Definition(Open):
    service_code: str
    attributes: list[Object]


class Open311Request(Open):
    """A request as listed; a just-posted one carries `service_request_id` or a `token`."""

    service_notice: str | None = None
