"""The boundary editor page, GET /map/edit: for signed-in users only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.routers.pages.shell import PageDep, login_redirect
from web_map.edit import edit_page

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/map/edit", response_class=HTMLResponse, response_model=None)
def edit_map(request: Request, page: PageDep) -> HTMLResponse | RedirectResponse:
    """The boundary editor; anonymous visitors are sent to sign in first."""
    if page.user is None:
        return login_redirect(request)
    # The page is the same for everyone, but only signed-in users may see it: never cache it.
    html = edit_page(page.settings.map, page.tr, shell=page.shell("/map/edit"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
