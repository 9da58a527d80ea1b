"""Pages of the closed loop: the dispatch console (signed in) and the residents' report pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.routers.pages.shell import PageDep
from api.services.identity.auth import User
from api.services.identity.policy import PAGE_REDIRECTS
from web_map.dispatch import PAGE_PATH, dispatch_page
from web_map.patrol import PAGE_PATH as PATROL_PATH
from web_map.patrol import SERVICE_WORKER_FILE, SERVICE_WORKER_PATH, patrol_page
from web_map.photo_labels import photo_labels
from web_map.report import report_mine_page, report_page, report_status_page

router = APIRouter(tags=["pages"], include_in_schema=False)

# Pages are built per request from the settings, and a console must never be served from a cache
# to someone who has since signed out.
NO_STORE = {"Cache-Control": "no-store"}


def _away(user: User | None, path: str) -> RedirectResponse | None:
    """Where a signed-in page sends this caller instead: anonymous visitors to sign in first,
    roles the page is not for (residents) where PAGE_REDIRECTS says; None: serve the page."""
    if user is None:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    elsewhere = PAGE_REDIRECTS[path].get(user.role)
    return RedirectResponse(elsewhere, status_code=303) if elsewhere is not None else None


@router.get(PAGE_PATH, response_class=HTMLResponse, response_model=None)
def dispatch_console(page: PageDep) -> HTMLResponse | RedirectResponse:
    """The dispatch console; anonymous visitors sign in first, residents go to the report form."""
    if (away := _away(page.user, PAGE_PATH)) is not None:
        return away
    settings = page.settings
    photos = photo_labels(settings.photos.max_photos, settings.photos.max_photo_bytes, tr=page.tr)
    html = dispatch_page(
        settings.map,
        page.tr,
        shell=page.shell(PAGE_PATH),
        max_page_size=settings.api.max_page_size,
        photos=photos,
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/report", response_class=HTMLResponse)
def report_form(page: PageDep) -> HTMLResponse:
    """Report a problem on the map; a signed-in user's report is linked to them."""
    settings, tr = page.settings, page.tr
    html = report_page(
        settings.map,
        tr,
        signed_in=page.user is not None,
        public_reporting=settings.api.public_reporting,
        shell=page.shell("/report"),
        photos=photo_labels(settings.photos.max_photos, settings.photos.max_photo_bytes, tr=tr),
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/report/{incident_id}", response_class=HTMLResponse)
def report_status(
    incident_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    page: PageDep,
) -> HTMLResponse:
    """Follow one report: its public outcome, public steps and the 回访 rating form."""
    shell = page.shell(f"/report/{incident_id}")
    html = report_status_page(
        page.settings.map, incident_id, page.tr, signed_in=page.user is not None, shell=shell
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/reports", response_class=HTMLResponse)
def my_reports_page(page: PageDep) -> HTMLResponse:
    """我的上报: a signed-in resident's reports, and the lookup by tracking id + contact."""
    shell = page.shell("/reports")
    html = report_mine_page(
        page.settings.map, page.tr, signed_in=page.user is not None, shell=shell
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get(PATROL_PATH, response_class=HTMLResponse, response_model=None)
def patrol(page: PageDep) -> HTMLResponse | RedirectResponse:
    """大联勤: the patrol page for phones; anonymous visitors sign in first."""
    if (away := _away(page.user, PATROL_PATH)) is not None:
        return away
    cfg = page.settings.patrols
    html = patrol_page(
        page.settings.map,
        page.tr,
        shell=page.shell(PATROL_PATH),
        max_accuracy_m=cfg.patrol_max_accuracy_m,
        batch_max=cfg.patrol_batch_max,
        fix_every_s=cfg.patrol_fix_every_s,
        fix_min_move_m=cfg.patrol_fix_min_move_m,
        upload_every_s=cfg.patrol_upload_every_s,
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get(SERVICE_WORKER_PATH, response_class=FileResponse)
def patrol_service_worker() -> FileResponse:
    """The patrol page's service worker (offline opening); revalidated on every registration."""
    return FileResponse(
        SERVICE_WORKER_FILE, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )
