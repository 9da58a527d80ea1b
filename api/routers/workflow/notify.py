"""GET /api/v1/notifications: the outbox and each delivery's state (administrators)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import ConnDep, CurrentUser, CursorDep, PageSizeDep
from api.responses import JSON
from api.services.notifications.admin import list_notifications

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications")
def notifications(
    conn: ConnDep,
    user: CurrentUser,
    limit: PageSizeDep,
    cursor: CursorDep,
    state: Annotated[Literal["pending", "sent", "dead"] | None, Query()] = None,
    incident: Annotated[str | None, Query(max_length=64)] = None,
) -> JSON:
    """Deliveries newest first: rule, channel, state, attempts, next try, last error."""
    return JSON(
        list_notifications(conn, user, state=state, incident=incident, limit=limit, cursor=cursor)
    )
