"""The patrol page (/patrol) for phones: 大联勤 grid officers and department staff on a patrol.

`static/patrol_queue.js` keeps the patrol, its GPS fixes and the problems reported on the way in
the browser's IndexedDB and uploads them when the connection allows (POST /api/v1/patrols with a
client id, …/points with the phone's point ids, /api/v1/incidents with an Idempotency-Key), so a
resend after a lost answer stores nothing twice. `static/patrol.js` is the page: start/stop,
live distance and time, the report form, the queue's state. `static/patrol_sw.js`, its service
worker, keeps the page, its scripts, the session, categories, grids and the base map tiles seen,
so that the page opens without a connection too.
"""

from __future__ import annotations

from pathlib import Path

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import Panel, page_js, panel_page

PAGE_PATH = "/patrol"
# The page's service worker (static/patrol_sw.js): served from the site's root so that its scope
# may be PAGE_PATH; it lets the page open offline once it was opened online.
SERVICE_WORKER_PATH = "/patrol-sw.js"
SERVICE_WORKER_FILE = Path(__file__).parent / "static" / "patrol_sw.js"
PATROL = Panel(N_("Patrol"), page_js("patrol_queue", "patrol"), "patrol.html", grids=True)


def patrol_page(
    settings: MapSettings,
    tr: Translator = CHINESE,
    *,
    shell: str = "",
    max_accuracy_m: float = 100.0,
    batch_max: int = 1000,
    fix_every_s: float = 10.0,
    fix_min_move_m: float = 15.0,
    upload_every_s: float = 30.0,
) -> str:
    """The patrol page; fixes less accurate than `max_accuracy_m` are sent but not counted in
    the distance shown (the server flags them the same way). Of the browser's positions the
    page keeps one every `fix_every_s`, or sooner once `fix_min_move_m` away from the last one
    kept, and uploads what it kept every `upload_every_s` (docs/patrols.md)."""
    config = {
        "page": "patrol",
        "max_accuracy_m": max_accuracy_m,
        "batch_max": min(batch_max, 500),
        "fix_every_ms": round(fix_every_s * 1000),
        "fix_min_move_m": fix_min_move_m,
        "upload_every_ms": round(upload_every_s * 1000),
        "service_worker": SERVICE_WORKER_PATH,
        "scope": PAGE_PATH,
    }
    return panel_page(settings, tr, PATROL, shell=shell, config=config)
