"""Pages of the closed loop: the dispatch console (signed in) and the residents' report pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from api.deps import OptionalUser, SettingsDep
from api.locale import TranslatorDep
from api.routers.pages.shell import page_shell
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
def dispatch_console(
    settings: SettingsDep, user: OptionalUser, tr: TranslatorDep
) -> HTMLResponse | RedirectResponse:
    """The dispatch console; anonymous visitors sign in first, residents go to the report form."""
    if (away := _away(user, PAGE_PATH)) is not None:
        return away
    photos = photo_labels(settings.photos.max_photos, settings.photos.max_photo_bytes, tr=tr)
    page = dispatch_page(
        settings.map,
        tr,
        shell=page_shell(tr, user, PAGE_PATH),
        max_page_size=settings.api.max_page_size,
        photos=photos,
    )
    return HTMLResponse(page, headers=NO_STORE)


@router.get("/report", response_class=HTMLResponse)
def report_form(settings: SettingsDep, user: OptionalUser, tr: TranslatorDep) -> HTMLResponse:
    """Report a problem on the map; a signed-in user's report is linked to them."""
    html = report_page(
        settings.map,
        tr,
        signed_in=user is not None,
        public_reporting=settings.api.public_reporting,
        shell=page_shell(tr, user, "/report"),
        photos=photo_labels(settings.photos.max_photos, settings.photos.max_photo_bytes, tr=tr),
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/report/{incident_id}", response_class=HTMLResponse)
def report_status(
    incident_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    settings: SettingsDep,
    user: OptionalUser,
    tr: TranslatorDep,
) -> HTMLResponse:
    """Follow one report: its public outcome, public steps and the 回访 rating form."""
    shell = page_shell(tr, user, f"/report/{incident_id}")
    html = report_status_page(
        settings.map, incident_id, tr, signed_in=user is not None, shell=shell
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/reports", response_class=HTMLResponse)
def my_reports_page(settings: SettingsDep, user: OptionalUser, tr: TranslatorDep) -> HTMLResponse:
    """我的上报: a signed-in resident's reports, and the lookup by tracking id + contact."""
    shell = page_shell(tr, user, "/reports")
    html = report_mine_page(settings.map, tr, signed_in=user is not None, shell=shell)
    return HTMLResponse(html, headers=NO_STORE)


@router.get(PATROL_PATH, response_class=HTMLResponse, response_model=None)
def patrol(
    settings: SettingsDep, user: OptionalUser, tr: TranslatorDep
) -> HTMLResponse | RedirectResponse:
    """大联勤: the patrol page for phones; anonymous visitors sign in first."""
    if (away := _away(user, PATROL_PATH)) is not None:
        return away
    cfg = settings.patrols
    html = patrol_page(
        settings.map,
        tr,
        shell=page_shell(tr, user, PATROL_PATH),
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
