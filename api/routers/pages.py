"""HTML pages and their static files; Leaflet is served from here, never from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from api.deps import SettingsDep
from web_map.pages import STATIC_DIR, STATIC_URL, overview_page

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview(settings: SettingsDep) -> HTMLResponse:
    """The overview map of all governance areas."""
    return HTMLResponse(overview_page(settings.map))


def install(app: FastAPI) -> None:
    """Add the page routes and serve web_map/static under /static."""
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
