"""The boundary editor page, GET /map/edit: for signed-in users only."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import OptionalUser, SettingsDep
from api.locale import TranslatorDep
from api.routers.pages.shell import page_shell
from web_map.edit import edit_page

router = APIRouter(tags=["pages"], include_in_schema=False)


def _login_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in form, coming back to this very page (query string included)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


@router.get("/map/edit", response_class=HTMLResponse, response_model=None)
def edit_map(
    request: Request, settings: SettingsDep, user: OptionalUser, tr: TranslatorDep
) -> HTMLResponse | RedirectResponse:
    """The boundary editor; anonymous visitors are sent to sign in first."""
    if user is None:
        return _login_redirect(request)
    # The page is the same for everyone, but only signed-in users may see it: never cache it.
    html = edit_page(settings.map, tr, shell=page_shell(tr, user, "/map/edit"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
