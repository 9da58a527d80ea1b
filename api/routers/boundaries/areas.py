"""Editing boundaries: create, change, retire, split, merge, preview; history and coverage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query

from api.deps import ConnDep, CurrentUser, CursorDep, OptionalUser, PageSizeDep, SettingsDep
from api.error_messages import localise_problems
from api.errors import NotFound
from api.locale import TranslatorDep
from api.responses import JSON, GeoJSON
from api.schemas.areas import AreaFeature, MergeIn, SplitFeature
from api.services.boundaries.coverage import coverage_geojson
from api.services.boundaries.edit import (
    AreaChange,
    SaveResult,
    create_area,
    retire_area,
    update_area,
)
from api.services.boundaries.lineage import history_with_lineage
from api.services.boundaries.split import merge_areas, split_area
from api.services.boundaries.store import parse_if_match
from api.services.identity.auth import User
from api.services.identity.policy import role_of
from api.settings import Settings
from gis.features import area_versions_geojson
from gis.limits import check_geometry_size
from web_map.i18n import Translator

router = APIRouter(prefix="/api/v1", tags=["boundary editing"])
PUBLIC_ROLES = {"anonymous", "resident"}  # area history without the names of who saved

Fix = Annotated[
    Literal["snap"] | None,
    Query(description="snap: clip to the parent and cut out the siblings before saving"),
]
IfMatch = Annotated[
    str | None,
    Header(description='ETag(s) of the version(s) you read, e.g. "42" (merge: "42", "43")'),
]


@dataclass(frozen=True)
class Editing:
    """One boundary edit's context: who edits, on which connection, with which settings; the
    answer speaks the caller's language."""

    conn: ConnDep
    settings: Settings
    tr: Translator
    user: User

    def answer(
        self, body: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> JSON:
        """The result with its topology problems worded for the caller."""
        return JSON(localise_problems(body, self.tr), status_code=status_code, headers=headers)


async def editing(
    conn: ConnDep, settings: SettingsDep, tr: TranslatorDep, user: CurrentUser
) -> Editing:
    """The edit's context (async: it only gathers what the other dependencies gave)."""
    return Editing(conn, settings, tr, user)


EditingDep = Annotated[Editing, Depends(editing)]


def _change(feature: AreaFeature, settings: Settings) -> AreaChange:
    limits = settings.limits  # 422 geometry_too_large before any parsing work
    check_geometry_size(feature.geometry, limits.max_polygon_vertices, limits.max_polygon_parts)
    p = feature.properties
    return AreaChange(
        geometry=feature.geometry,
        name=p.name,
        level=p.level,
        parent_code=p.parent_code,
        code=p.code,
        attributes=p.attributes,
        note=p.note,
    )


def _etag(version_id: int | None) -> dict[str, str]:
    return {"ETag": f'"{version_id}"'} if version_id is not None else {}


@router.post("/areas", response_class=JSON, status_code=201)
def post_area(feature: AreaFeature, edit: EditingDep, fix: Fix = None) -> JSON:
    """Create an area from a GeoJSON Feature; 201 with ETag, warnings (gaps) and impact."""
    change = _change(feature, edit.settings)
    result = create_area(edit.conn, edit.settings, edit.user, change, fix=fix)
    code = result.feature["properties"]["code"]
    headers = {**_etag(result.version_id), "Location": f"/api/v1/areas/{code}"}
    return edit.answer(result.body(), status_code=201, headers=headers)


def _save(
    code: str,
    feature: AreaFeature,
    edit: Editing,
    if_match: str | None,
    fix: str | None,
    *,
    dry_run: bool,
) -> SaveResult:
    """The change a PUT (or its preview) asks for, saved (or tried and rolled back)."""
    change, versions = _change(feature, edit.settings), parse_if_match(if_match)
    return update_area(
        edit.conn,
        edit.settings,
        edit.user,
        code,
        change,
        versions=versions,
        fix=fix,
        dry_run=dry_run,
    )


@router.put("/areas/{code}", response_class=JSON)
def put_area(
    code: str, feature: AreaFeature, edit: EditingDep, if_match: IfMatch = None, fix: Fix = None
) -> JSON:
    """Save a new version (geometry and/or name, attributes); needs If-Match."""
    result = _save(code, feature, edit, if_match, fix, dry_run=False)
    return edit.answer(result.body(), headers=_etag(result.version_id))


@router.delete("/areas/{code}", response_class=JSON)
def delete_area(
    code: str, conn: ConnDep, settings: SettingsDep, user: CurrentUser, if_match: IfMatch = None
) -> JSON:
    """Retire an area: close its current version (409 while it has children or open cases)."""
    result = retire_area(conn, settings, user, code, versions=parse_if_match(if_match))
    return JSON(result.body())


@router.post("/areas/{code}/preview", response_class=JSON)
def preview_area(
    code: str, feature: AreaFeature, edit: EditingDep, if_match: IfMatch = None, fix: Fix = None
) -> JSON:
    """What saving this geometry would do (incidents and buildings that move); stores nothing."""
    return edit.answer(_save(code, feature, edit, if_match, fix, dry_run=True).body())


@router.post("/areas/{code}/split", response_class=JSON)
def post_split(
    code: str, feature: SplitFeature, edit: EditingDep, if_match: IfMatch = None
) -> JSON:
    """Cut an area along a line; returns the new areas as a FeatureCollection."""
    limits = edit.settings.limits
    check_geometry_size(feature.geometry, limits.max_polygon_vertices, limits.max_polygon_parts)
    result = split_area(
        edit.conn,
        edit.settings,
        edit.user,
        code,
        feature.geometry,
        names=feature.properties.names,
        note=feature.properties.note,
        versions=parse_if_match(if_match),
    )
    return edit.answer(result.body())


@router.post("/areas/merge", response_class=JSON)
def post_merge(body: MergeIn, edit: EditingDep, if_match: IfMatch = None) -> JSON:
    """Merge adjacent siblings into one new area; versions in If-Match or body.versions."""
    versions = parse_if_match(if_match)
    if body.versions:
        versions = [*(versions or []), *body.versions.values()]
    result = merge_areas(
        edit.conn,
        edit.settings,
        edit.user,
        body.codes,
        name=body.name,
        code=body.code,
        attributes=body.attributes,
        note=body.note,
        versions=versions,
    )
    new = result.features[0]["properties"]["version_id"]
    return edit.answer(result.body(), headers=_etag(new))


@router.get("/areas/{code}/history", response_class=GeoJSON)
def area_history(
    code: str,
    conn: ConnDep,
    limit: PageSizeDep,
    cursor: CursorDep,
    user: OptionalUser,
    lineage: Annotated[
        bool,
        Query(description="also the areas it was split or merged from, and those made from it"),
    ] = False,
) -> GeoJSON:
    """Every version of an area, oldest first (when, why; who saved it: staff only), paged."""
    staff = role_of(user) not in PUBLIC_ROLES  # anonymous callers and residents: no names
    if lineage:
        return GeoJSON(
            history_with_lineage(conn, code, limit=limit, cursor=cursor, with_users=staff)
        )
    body = area_versions_geojson(conn, code=code, limit=limit, cursor=cursor, with_users=staff)
    if cursor is None and not orjson.loads(body)["features"]:
        raise NotFound(f"No area has ever had code '{code}'.")
    return GeoJSON(body)


@router.get("/coverage", response_class=GeoJSON)
def get_coverage(
    conn: ConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    parent: Annotated[str | None, Query(max_length=64, description="one parent's children")] = None,
) -> GeoJSON:
    """Gaps, overlaps and outside-parent pieces among children, as a FeatureCollection."""
    return GeoJSON(localise_problems(coverage_geojson(conn, settings.topology, parent), tr))
