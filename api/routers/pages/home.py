"""HTML pages and their static files; Leaflet is served from here, never from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from api.deps import OptionalUser, SettingsDep
from api.locale import TranslatorDep
from api.routers.pages import shell as pages_shell
from api.routers.pages.shell import page_shell
from web_map.pages import STATIC_DIR, STATIC_URL, overview_page
from web_map.shell import home_of

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse, response_model=None)
def overview(
    settings: SettingsDep, user: OptionalUser, tr: TranslatorDep
) -> HTMLResponse | RedirectResponse:
    """The overview map of all governance areas; a signed-in user goes on to their home page."""
    if user is not None and home_of(user.role) != "/":
        return RedirectResponse(home_of(user.role), status_code=303)
    html = overview_page(settings.map, tr, shell=page_shell(tr, user, "/"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Vary": "Cookie"})


def install(app: FastAPI) -> None:
    """Add the page routes and serve web_map/static under /static."""
    app.include_router(router)
    app.include_router(pages_shell.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
