"""HTML pages and their static files; Leaflet is served from here, never from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from api.routers.pages import shell as pages_shell
from api.routers.pages.shell import PageDep
from web_map.pages import STATIC_DIR, STATIC_URL, overview_page
from web_map.shell import home_of

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse, response_model=None)
def overview(page: PageDep) -> HTMLResponse | RedirectResponse:
    """The overview map of all governance areas; a signed-in user goes on to their home page."""
    user = page.user
    if user is not None and home_of(user.role) != "/":
        return RedirectResponse(home_of(user.role), status_code=303)
    html = overview_page(page.settings.map, page.tr, shell=page.shell("/"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Vary": "Cookie"})


def install(app: FastAPI) -> None:
    """Add the page routes and serve web_map/static under /static."""
    app.include_router(router)
    app.include_router(pages_shell.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
