"""The one authorization policy: role × area scope × department × action, as tables.

`READ` says, for each kind of incident data, what each role may see. Rules:

- `all`: everything (admins);
- `scope`: incidents whose stored grid/community/street/district or current responsible area is
  the user's scope area (dispatchers: their area; officers: their grids — an officer scoped to a
  community follows every grid in it);
- `department`: incidents the user's department leads, supports (joint dispatch) or was summoned
  to by a whistle (吹哨);
- `own`: incidents the user reported while signed in (every role has this too);
- `public`: the public view only (category, status, grid, times, point location; never
  descriptions' authors, contact data, actors or internal notes);
- `none`: nothing.

The filtering rules are one SQL condition (`incident_scope`), used by GET /api/v1/incidents, the
SSE stream, the whistle list and the early-warning queries, and, for one incident, by
`incident_view` (the detail endpoint). Workflow *actions* are authorised per incident by the
capacities of `api.services.workflow.machine` (its `WHO` table): `ACTIONS` below states them in
the same
terms, and tests/test_authz_table.py checks both tables against the real endpoints.
"""

from __future__ import annotations

from typing import Any, Literal

from psycopg import Connection, sql

from api.errors import Forbidden
from api.services.identity.access import require_area_scope
from api.services.identity.auth import ROLES, User

Rule = Literal["all", "scope", "department", "own", "public", "none"]

# GET /api/v1/incidents, GET /api/v1/stream, early warning: filtered lists
_INCIDENT_LIST: dict[str, tuple[Rule, ...]] = {
    "admin": ("all",),
    "dispatcher": ("scope", "own"),
    "officer": ("scope", "own"),
    "department": ("department", "own"),
    "resident": ("own",),
    "anonymous": ("none",),
}

# What each role sees of incidents, per surface. Anonymous callers are the `anonymous` column.
READ: dict[str, dict[str, tuple[Rule, ...]]] = {
    "incident_list": _INCIDENT_LIST,
    # GET /api/v1/whistles: staff only (api/services/whistles refuses residents with 403)
    "whistle_list": {**_INCIDENT_LIST, "resident": ("none",)},
    # GET /api/v1/incidents/{id}: the full document where the list rule matches, else public view
    "incident_detail": {
        "admin": ("all",),
        "dispatcher": ("scope", "own", "public"),
        "officer": ("scope", "own", "public"),
        "department": ("department", "own", "public"),
        "resident": ("own", "public"),
        "anonymous": ("public",),
    },
    # /tiles/incidents, /ogc/collections/incidents/items, GET /open311/v2/requests: public fields
    "incident_public_feeds": {role: ("public",) for role in (*ROLES, "anonymous")},
}

# Roles that may narrow the public feeds by a field the public view leaves out (the department):
# the filter itself would otherwise tell anyone which department handles which incident.
PRIVATE_FILTERS: tuple[str, ...] = ("admin", "dispatcher", "officer", "department")

# Workflow actions (POST /api/v1/incidents/{id}/actions, /whistle, /whistles/{id}/check-in):
# the role and the relation to the incident that grants each. Mirrors workflow.WHO/_capacities.
ACTIONS: dict[str, tuple[str, str]] = {
    "dispatcher": ("dispatcher", "scope holds the incident's current responsible area"),
    "whistler": ("dispatcher", "as dispatcher, and their own area is a street or district"),
    "department": ("department", "the incident's lead department"),
    "supporter": ("department", "a supporting department of the joint dispatch"),
    "summoned": ("department", "summoned by an open whistle, not yet checked in"),
    "officer": ("officer", "scope holds the incident's grid"),
    "reporter": ("any", "reported the incident while signed in"),
}

AREA_COND = (
    "%(vis_area)s IN ({a}.grid_code, {a}.community_code, {a}.street_code, {a}.district_code, "
    "{a}.responsible_area_code)"
)
DEPARTMENT_COND = """(
    {a}.department_code = %(vis_dept)s
    OR EXISTS (SELECT 1 FROM incident_supports s
               WHERE s.incident_id = {a}.id AND s.department_code = %(vis_dept)s)
    OR EXISTS (SELECT 1 FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id
               WHERE w.incident_id = {a}.id AND k.department_code = %(vis_dept)s))"""
REPORTER_COND = "{a}.reporter_user_id = %(vis_user)s"


def role_of(user: User | None) -> str:
    """The policy column of a caller."""
    return "anonymous" if user is None else user.role


def incident_scope(
    user: User | None, alias: str = "i", surface: str = "incident_list"
) -> tuple[sql.Composable, dict[str, Any]]:
    """A condition on incidents row `alias`, true for incidents `user` may see in full."""
    rules = READ[surface][role_of(user)]
    if "all" in rules:
        return sql.SQL("true"), {}
    if user is None:
        return sql.SQL("false"), {}
    a = sql.Identifier(alias)
    conds: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if "own" in rules:
        conds.append(sql.SQL(REPORTER_COND).format(a=a))
        params["vis_user"] = user.id
    if "scope" in rules and user.area_code:
        conds.append(sql.SQL(AREA_COND).format(a=a))
        params["vis_area"] = user.area_code
    if "department" in rules and user.department_code:
        conds.append(sql.SQL(DEPARTMENT_COND).format(a=a))
        params["vis_dept"] = user.department_code
    if not conds:
        return sql.SQL("false"), {}
    return sql.SQL("({})").format(sql.SQL(" OR ").join(conds)), params


def event_scope(
    user: User, incident_alias: str = "t", event_alias: str = "e"
) -> tuple[sql.Composable, dict[str, Any]]:
    """A condition on an incident row and one of its events, true for events `user` may follow
    (the live stream and its replay): the incident's scope, and for a department also its own
    steps on cases it no longer holds (e.g. the step that returned one)."""
    cond, params = incident_scope(user, incident_alias, "incident_list")
    if user.role == "department" and user.department_code:
        own = sql.SQL("{}.department_code = %(vis_dept)s").format(sql.Identifier(event_alias))
        cond = sql.SQL("({} OR {})").format(cond, own)
        params = {**params, "vis_dept": user.department_code}
    return cond, params


def incident_scope_fragment(
    conn: Connection[Any], user: User | None, alias: str = "t"
) -> tuple[str, dict[str, Any]]:
    """`incident_scope` as a plain SQL string, for gis.features' fixed-fragment filters."""
    cond, params = incident_scope(user, alias)
    return cond.as_string(conn), params


def incident_view(conn: Connection[Any], user: User | None, public_id: str) -> str:
    """'full' or 'public': which view of one incident the caller gets (policy, one query)."""
    if role_of(user) == "admin":
        return "full"
    cond, params = incident_scope(user, "i", "incident_list")
    query = sql.SQL("SELECT {} AS ok FROM incidents i WHERE i.public_id = %(pid)s").format(cond)
    row = conn.execute(query, {**params, "pid": public_id}).fetchone()
    return "full" if row is not None and row["ok"] else "public"


def check_feed_filter(user: User | None, department: str | None) -> None:
    """Refuse a department filter on a public feed (tiles) to those it is hidden from."""
    if department and role_of(user) not in PRIVATE_FILTERS:
        raise Forbidden(
            "Filtering incidents by department is for signed-in staff; "
            "leave out `department` or sign in.",
            {"department": department},
        )


# Surfaces beyond single incidents, in READ's columns (tests/test_authz_insights.py checks them).
# Early warning: GET /api/v1/hotspots, /repeats, /incidents/{id}/possible-duplicates (out of
# scope: 404, as for an id that does not exist). Staff follow what they may list; residents: 403.
READ["early_warning"] = {**READ["incident_list"], "resident": ("none",)}
# 综合评价: GET /api/v1/stats, /stats/flags, /stats/trend. Figures of an area subtree
# (dispatchers) or attributed to one department; officers and residents: 403.
READ["statistics"] = {
    "admin": ("all",),
    "dispatcher": ("scope",),
    "officer": ("none",),
    "department": ("department",),
    "resident": ("none",),
    "anonymous": ("none",),
}

# Boundary editing (POST/PUT/DELETE /api/v1/areas…, preview, split, merge): admins anywhere,
# officers on areas their scope holds (their own area and below), nobody else (tests/
# test_authz_areas.py). Reading areas, their history and coverage is public.
EDIT_AREAS: dict[str, Rule] = {
    "admin": "all",
    "dispatcher": "none",
    "officer": "scope",
    "department": "none",
    "resident": "none",
    "anonymous": "none",
}

# Signed-in pages that send a role elsewhere (anonymous visitors are sent to /login first).
PAGE_REDIRECTS: dict[str, dict[str, str]] = {
    "/map/dispatch": {"resident": "/report"},
    "/patrol": {"resident": "/report"},  # 大联勤: patrols are staff business
}


def require_read(user: User | None, surface: str, message: str) -> None:
    """Refuse (403) a caller whose role may read nothing of `surface`."""
    if READ[surface][role_of(user)] == ("none",):
        raise Forbidden(message)


def require_area_edit(conn: Connection[Any], user: User, code: str | None, action: str) -> None:
    """Refuse (403) a boundary change `user` may not make to area `code` (EDIT_AREAS)."""
    rule = EDIT_AREAS[role_of(user)]
    if rule == "none":
        raise Forbidden(
            f"Only admins and grid officers may {action}; you are signed in as {user.role}.",
            {"role": user.role},
        )
    if rule == "scope":
        require_area_scope(conn, user, code, action)
