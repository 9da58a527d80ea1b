"""The closed loop over HTTP: workflow actions, 吹哨 whistles and 报到 check-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActingDep, ConnDep, CurrentUser, CursorDep, PageSizeDep, RowId, SettingsDep
from api.responses import JSON
from api.schemas.workflow import ActionIn, CheckInIn, WhistleIn, WithdrawIn
from api.services.workflow.actions import apply_action
from api.services.workflow.view import incident_document
from api.services.workflow.whistles import (
    blow_whistle,
    check_in,
    list_whistles,
    whistle_detail,
    withdraw_whistle,
)

router = APIRouter(prefix="/api/v1", tags=["workflow"])


@router.post("/incidents/{incident_id}/actions", response_class=JSON)
def incident_action(
    incident_id: str, body: ActionIn, act: ActingDep, settings: SettingsDep
) -> JSON:
    """Take one workflow action; 200 with the incident as GET returns it (new allowed_actions)."""
    apply_action(act.conn, settings, act.user, incident_id, body, act.clock())
    return JSON(incident_document(act.conn, incident_id, act.user, full=True))


@router.post("/incidents/{incident_id}/whistle", response_class=JSON, status_code=201)
def whistle(incident_id: str, body: WhistleIn, act: ActingDep) -> JSON:
    """吹哨: summon departments; each must report in within `deadline_minutes`."""
    whistle_id = blow_whistle(
        act.conn,
        act.user,
        incident_id,
        body.departments,
        body.deadline_minutes,
        body.note,
        act.clock(),
    )
    return JSON(whistle_detail(act.conn, whistle_id), status_code=201)


@router.post("/whistles/{whistle_id}/check-in", response_class=JSON)
def whistle_check_in(whistle_id: RowId, act: ActingDep, body: CheckInIn | None = None) -> JSON:
    """报到: the caller's department reports in (time recorded, late after the deadline)."""
    check_in(act.conn, act.user, whistle_id, body.department if body else None, act.clock())
    return JSON(whistle_detail(act.conn, whistle_id))


@router.post("/whistles/{whistle_id}/withdraw", response_class=JSON)
def whistle_withdraw(whistle_id: RowId, act: ActingDep, body: WithdrawIn | None = None) -> JSON:
    """撤哨: end an open whistle; summonses still pending become `cancelled`."""
    withdraw_whistle(act.conn, act.user, whistle_id, body.note if body else None, act.clock())
    return JSON(whistle_detail(act.conn, whistle_id))


@router.get("/whistles", response_class=JSON)
def whistles(
    conn: ConnDep,
    user: CurrentUser,
    limit: PageSizeDep,
    cursor: CursorDep,
    open: Annotated[
        bool | None, Query(description="true: some department has not reported in yet")
    ] = None,
    incident_open: Annotated[
        bool | None,
        Query(description="true: only on incidents still open (not closed or rejected)"),
    ] = None,
) -> JSON:
    """Whistles on incidents the caller may follow, with their check-ins."""
    return JSON(
        list_whistles(
            conn, user, open_=open, incident_open=incident_open, limit=limit, cursor=cursor
        )
    )
