"""Every route of the app is in the authorization table, or says why it is public.

`ROUTES` maps each (method, path) of `create_app(...)` to the test that exercises its cells
(role × in/out of scope) or to the reason it is open to everyone. A new route that is in neither
fails `test_every_route_is_in_the_table`. This module also holds the rows of the signed-in pages,
`GET /api/v1/session` and the single public items.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest
from fastapi import FastAPI

from api.main import create_app
from api.services.identity.policy import PAGE_REDIRECTS, READ
from tests.conftest import settings_for
from tests.loop import make_cast, report
from tests.pages_workflow_util import PASSWORD, give_password

TABLE = "tests/test_authz_table.py::"
AREAS = "tests/test_authz_areas.py::test_area_edits"
INSIGHTS = "tests/test_authz_insights.py::test_insights"
WHISTLES = "tests/test_authz_whistles.py::"
HERE = "tests/test_authz_routes.py::"
PHOTOS = "tests/test_photos_stages.py::"
PATROLS = "tests/test_patrols.py::"
REFERENCE = "public: reference data (areas, buildings, departments, categories, rules)"
DISCOVERY = "public: service discovery and metadata, no incident data"
DOCS = "public: the API's own description"
REPORTING = "public: reporting (GRIDGOV_PUBLIC_REPORTING; a signed-in report is linked to you)"
BOUNDARIES = "public: boundaries, their versions and coverage are public reference data"
PAGE = "public: a page shell; its data comes from the API under the API's rules"

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): DOCS,
    ("GET", "/docs"): DOCS,
    ("GET", "/healthz"): "public: liveness (database reachable), no data",
    ("GET", "/metrics"): "tests/test_metrics.py::test_metrics_need_an_admin",
    ("GET", "/api/v1/locate"): "public: which grid and department answer at a point",
    ("POST", "/api/v1/incidents"): REPORTING,
    ("GET", "/api/v1/incidents"): TABLE + "test_list_filters",
    ("GET", "/api/v1/incidents/{incident_id}"): TABLE + "test_detail_full_or_public",
    ("GET", "/api/v1/areas"): REFERENCE,
    ("GET", "/api/v1/areas/{code}"): REFERENCE,
    ("GET", "/api/v1/buildings"): REFERENCE,
    ("GET", "/api/v1/departments"): REFERENCE,
    ("GET", "/api/v1/categories"): REFERENCE,
    ("GET", "/api/v1/routing-rules"): REFERENCE,
    ("GET", "/api/v1/catalogue"): REFERENCE,
    ("GET", "/api/v1/notifications"): "tests/test_notify.py::test_notifications_list_is_for_admins",
    ("GET", "/ogc"): DISCOVERY,
    ("GET", "/ogc/conformance"): DISCOVERY,
    ("GET", "/ogc/collections"): DISCOVERY,
    ("GET", "/ogc/collections/{collection_id}"): DISCOVERY,
    ("GET", "/ogc/collections/{collection_id}/schema"): DISCOVERY,
    ("GET", "/ogc/collections/{collection_id}/queryables"): DISCOVERY,
    ("GET", "/ogc/api"): DISCOVERY,
    ("GET", "/ogc/collections/{collection_id}/items"): TABLE
    + "test_public_feeds_carry_public_fields_only",
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): HERE
    + "test_public_single_items_are_the_same_for_everyone",
    ("POST", "/api/v1/incidents/{incident_id}/actions"): TABLE + "test_actions",
    ("POST", "/api/v1/incidents/{incident_id}/whistle"): WHISTLES + "test_whistle",
    ("POST", "/api/v1/whistles/{whistle_id}/check-in"): WHISTLES + "test_check_in",
    ("POST", "/api/v1/whistles/{whistle_id}/withdraw"): WHISTLES + "test_withdraw",
    ("GET", "/api/v1/whistles"): TABLE + "test_whistle_list_filters",
    ("GET", "/api/v1/stream"): "tests/test_stream.py::"
    "test_stream_delivers_to_whom_it_concerns_and_replays",
    ("POST", "/api/v1/areas"): AREAS,
    ("PUT", "/api/v1/areas/{code}"): AREAS,
    ("DELETE", "/api/v1/areas/{code}"): AREAS,
    ("POST", "/api/v1/areas/{code}/preview"): AREAS,
    ("POST", "/api/v1/areas/{code}/split"): AREAS,
    ("POST", "/api/v1/areas/merge"): AREAS,
    ("GET", "/api/v1/areas/{code}/history"): BOUNDARIES,
    ("GET", "/api/v1/coverage"): BOUNDARIES,
    ("GET", "/open311/v2/discovery.{fmt}"): DISCOVERY,
    ("GET", "/open311/v2/services.{fmt}"): DISCOVERY,
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): DISCOVERY,
    ("POST", "/open311/v2/requests.{fmt}"): REPORTING,
    ("GET", "/open311/v2/requests.{fmt}"): TABLE + "test_public_feeds_carry_public_fields_only",
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): HERE
    + "test_public_single_items_are_the_same_for_everyone",
    **{
        (m, "/open311/v2/{rest:path}"): "public: unknown Open311 paths, answered 404"
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    ("GET", "/login"): "public: the sign-in form",
    ("GET", "/lang/{code}"): "public: sets the language cookie, redirects to a same-site path",
    ("POST", "/login"): "public: signing in (rate-limited)",
    ("POST", "/logout"): "public: ends the caller's own session",
    ("GET", "/api/v1/session"): HERE + "test_session_tells_each_caller_about_themselves_only",
    ("GET", "/tiles/{layer}.json"): DISCOVERY,
    ("GET", "/basemap/{z}/{x}/{y}.png"): "public: the OpenStreetMap base map, no GridGov data",
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"): HERE
    + "test_public_single_items_are_the_same_for_everyone",
    ("GET", "/api/v1/stats"): INSIGHTS,
    ("GET", "/api/v1/stats/flags"): INSIGHTS,
    ("GET", "/api/v1/stats/trend"): INSIGHTS,
    ("GET", "/api/v1/hotspots"): INSIGHTS,
    ("GET", "/api/v1/repeats"): INSIGHTS,
    ("GET", "/api/v1/incidents/{incident_id}/possible-duplicates"): INSIGHTS,
    ("GET", "/map/stats"): HERE + "test_signed_in_pages",
    ("GET", "/map/dispatch"): HERE + "test_signed_in_pages",
    ("GET", "/map/edit"): HERE + "test_signed_in_pages",
    ("GET", "/patrol"): HERE + "test_signed_in_pages",
    ("GET", "/patrol-sw.js"): "public: the patrol page's service worker, a static script",
    ("GET", "/report"): PAGE,
    ("GET", "/report/{incident_id}"): PAGE,
    ("GET", "/reports"): PAGE,
    ("GET", "/api/v1/reports/mine"): "tests/test_reports.py::test_my_reports_and_the_lookup",
    ("POST", "/api/v1/reports/lookup"): "tests/test_reports.py::test_my_reports_and_the_lookup",
    ("GET", "/api/v1/reports/{incident_id}"): "public: the reporter's view; public fields only "
    "(tests/test_reports.py::test_the_reporter_view_hides_internal_steps)",
    ("POST", "/api/v1/reports/{incident_id}/rating"): "tests/test_reports.py::test_rating_once",
    ("GET", "/"): PAGE,
    ("MOUNT", "/static"): "public: vendored scripts, styles and images",
    # the case file's photos (issue 16): stage × role, and who sees which photo
    ("POST", "/api/v1/incidents/{incident_id}/photos"): PHOTOS + "test_stage_rules_per_role",
    ("GET", "/api/v1/photos/{photo_id}"): PHOTOS + "test_who_sees_which_photo_and_hiding",
    ("GET", "/api/v1/photos/{photo_id}/thumb"): PHOTOS + "test_who_sees_which_photo_and_hiding",
    ("POST", "/api/v1/photos/{photo_id}/hide"): PHOTOS + "test_who_sees_which_photo_and_hiding",
    # 大联勤 joint patrols (issue 22): positions for dispatchers/admins of the scope only
    ("POST", "/api/v1/patrols"): PATROLS + "test_bad_batches_write_nothing",
    ("GET", "/api/v1/patrols"): PATROLS + "test_positions_per_role",
    ("GET", "/api/v1/patrols/{patrol_id}"): PATROLS + "test_positions_per_role",
    ("GET", "/api/v1/patrols/{patrol_id}/track"): PATROLS + "test_positions_per_role",
    ("GET", "/api/v1/patrols/coverage"): "tests/test_patrol_coverage.py::"
    "test_worked_example_area_share_week_stats_and_csv",
    ("POST", "/api/v1/patrols/{patrol_id}/join"): PATROLS
    + "test_patrol_out_of_order_duplicates_jump_and_outside",
    ("POST", "/api/v1/patrols/{patrol_id}/points"): PATROLS + "test_bad_batches_write_nothing",
    ("GET", "/api/v1/patrols/tracks"): "tests/test_patrol_live.py::"
    + "test_tracks_and_nearest_officers_per_role",
    ("GET", "/api/v1/patrols/live"): "tests/test_patrol_live.py::"
    + "test_live_positions_stream_is_scoped",
    ("GET", "/api/v1/incidents/{incident_id}/nearest-officers"): "tests/test_patrol_live.py::"
    + "test_tracks_and_nearest_officers_per_role",
    ("POST", "/api/v1/patrols/{patrol_id}/end"): PATROLS
    + "test_patrol_out_of_order_duplicates_jump_and_outside",
    (
        "GET",
        "/cases/{incident_id}/print",
    ): "tests/test_case_print.py::test_print_is_for_staff_in_scope",
}
AUTHZ_MODULES = (
    "test_authz_table",
    "test_authz_areas",
    "test_authz_insights",
    "test_authz_whistles",
    "test_authz_routes",
)


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, HEAD left out (Starlette adds it to each GET)."""
    try:  # FastAPI ≥ 0.165 keeps included routers as branches; this flattens them
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI lists the routes flat
        routes = list(app.routes)
    out: set[tuple[str, str]] = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        if not methods:
            out.add(("MOUNT", route.path))
        out |= {(m, route.path) for m in methods or () if m != "HEAD"}
    return out


def test_every_route_is_in_the_table(world_db: str) -> None:
    found = app_routes(create_app(settings_for(world_db)))
    assert found - set(ROUTES) == set(), "new routes: add them to an authz table or say why public"
    assert set(ROUTES) - found == set(), "routes that no longer exist: remove them from ROUTES"
    for where in ROUTES.values():
        if where.startswith("public: "):
            continue
        path, _, name = where.partition("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{where} does not exist"


def cells_of(module_name: str) -> int:
    """Parametrized cases of the table tests of one module (one per test without a table)."""
    module = importlib.import_module(f"tests.{module_name}")
    total = 0
    for name, fn in vars(module).items():
        if not name.startswith("test_") or not callable(fn):
            continue
        n = 1
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "parametrize":
                n *= len(mark.args[1])
        total += n
    return total


def test_count_the_cells() -> None:
    counts = {m: cells_of(m) for m in AUTHZ_MODULES}
    print(f"\nauthorization table: {sum(counts.values())} cells exercised {counts}")
    assert sum(counts.values()) >= 200  # a table emptied by mistake fails here


# --- rows of this module --------------------------------------------------------------------

ROLES = ("admin", "dispatcher", "officer", "department", "resident")
NAME = {
    "admin": "root",
    "dispatcher": "disp",
    "officer": "off",
    "department": "cm",
    "resident": "res",
}
# the tests.loop.Cast attribute of each role's user
ATTR = {
    "admin": "admin",
    "dispatcher": "disp",
    "officer": "officer",
    "department": "dept",
    "resident": "resident",
}
PAGES = ("/map/dispatch", "/map/edit", "/map/stats", "/patrol")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_signed_in_pages(world: Any, world_db: str, token_for: Any, role: str, page: str) -> None:
    """Anonymous → sign in first; a role the policy sends elsewhere goes there; others: the page.

    Signed in through the form, with the session cookie, as a browser is.
    """
    make_cast(token_for)
    if role != "anonymous":
        give_password(world_db, NAME[role])
        r = world.post(
            "/login",
            data={"name": NAME[role], "password": PASSWORD, "next": page},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == page
    r = world.get(page, follow_redirects=False)
    elsewhere = PAGE_REDIRECTS.get(page, {}).get(role)
    if role == "anonymous":
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={page}"
    elif elsewhere:
        assert r.status_code == 303 and r.headers["location"] == elsewhere
    else:
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_session_tells_each_caller_about_themselves_only(
    world: Any, token_for: Any, role: str
) -> None:
    cast = make_cast(token_for)
    if role == "anonymous":
        r = world.get("/api/v1/session")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        return
    r = world.get("/api/v1/session", headers=getattr(cast, ATTR[role]))
    assert r.status_code == 200
    assert r.json()["user"]["name"] == NAME[role] and r.json()["user"]["role"] == role
    assert r.json()["csrf_token"] is None  # a bearer token is not a page session


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


@pytest.mark.parametrize("role", ROLES)
def test_public_single_items_are_the_same_for_everyone(
    world: Any, token_for: Any, role: str
) -> None:
    """READ["incident_public_feeds"]: one incident's feature, request and tile, byte for byte."""
    assert READ["incident_public_feeds"][role] == ("public",)
    cast = make_cast(token_for)
    inc = report(world, headers=cast.resident)
    x, y = tile_of(116.010, 39.020, 16)
    for path in (
        f"/ogc/collections/incidents/items/{inc}",
        f"/open311/v2/requests/{inc}.json",
        f"/tiles/incidents/16/{x}/{y}.pbf",
    ):
        anonymous = world.get(path)
        assert anonymous.status_code == 200, path
        r = world.get(path, headers=getattr(cast, ATTR[role]))
        assert r.status_code == 200 and r.content == anonymous.content, path
        if path.startswith("/ogc"):
            assert not {"description", "reporter", "actor"} & set(r.json()["properties"])
        if path.startswith("/open311"):
            (req,) = r.json()
            assert not {"first_name", "last_name", "phone", "email", "device_id"} & set(req)
