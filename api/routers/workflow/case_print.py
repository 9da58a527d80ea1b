"""GET /cases/{id}/print: the printable case file (staff whose scope holds the incident)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ClockDep, ConnDep, OptionalUser, SettingsDep
from api.locale import TranslatorDep
from api.services.workflow.case_file import case_map, require_case_file
from api.services.workflow.view import incident_document
from web_map.case_print import case_print_page

router = APIRouter(tags=["pages"], include_in_schema=False)
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


@router.get("/cases/{incident_id}/print", response_class=HTMLResponse, response_model=None)
def case_file_print(
    incident_id: CaseId,
    conn: ConnDep,
    settings: SettingsDep,
    user: OptionalUser,
    clock: ClockDep,
    tr: TranslatorDep,
) -> HTMLResponse | RedirectResponse:
    """One A4 page: summary, map of the place, timeline and photos, for printing."""
    if user is None:
        return RedirectResponse(f"/login?next=/cases/{incident_id}/print", status_code=303)
    require_case_file(conn, user, incident_id)
    doc = incident_document(conn, incident_id, user, full=True)
    html = case_print_page(
        doc, case_map(conn, incident_id), timezone=settings.calendar.timezone, now=clock(), tr=tr
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
