"""Residents' pages: /report (click the map, pick a category, submit) and /report/{id} (follow it).

Both are public. `static/report.js` does the work against the API: GET /api/v1/locate, then
/api/v1/catalogue?area= for the categories offered where the point is, POST /api/v1/incidents
with an Idempotency-Key per form, and GET /api/v1/incidents/{id} for the public view.
"""

from __future__ import annotations

from typing import Any

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import Panel, page_js, panel_page
from web_map.photo_labels import photo_labels
from web_map.workflow_labels import labels

REPORT_JS = page_js("photos", "report")
STATUS_JS = page_js("photos", "report_status")
REPORT = Panel(N_("Report a problem"), REPORT_JS, "report_form.html", grids=True)
STATUS = Panel(N_("Report status"), STATUS_JS, "report_status.html")
MINE = Panel(N_("My reports"), STATUS_JS, "report_mine.html")


def report_page(
    settings: MapSettings,
    tr: Translator = CHINESE,
    *,
    signed_in: bool,
    public_reporting: bool,
    shell: str = "",
    photos: dict[str, Any] | None = None,
) -> str:
    """The report form on a map; `signed_in` makes the script fetch the session's CSRF token."""
    config = {
        "page": "report",
        "signed_in": signed_in,
        "public_reporting": public_reporting,
        **labels(tr),
        **(photos or photo_labels(tr=tr)),
    }
    return panel_page(settings, tr, REPORT, shell=shell, config=config)


def report_status_page(
    settings: MapSettings,
    incident_id: str,
    tr: Translator = CHINESE,
    *,
    signed_in: bool = False,
    shell: str = "",
) -> str:
    """The reporter's view of one report: outcome, public steps, the 回访 rating form."""
    config = {"page": "report_status", "incident": incident_id, "signed_in": signed_in}
    config |= labels(tr) | photo_labels(tr=tr)
    return panel_page(settings, tr, STATUS, shell=shell, config=config)


def report_mine_page(
    settings: MapSettings, tr: Translator = CHINESE, *, signed_in: bool = False, shell: str = ""
) -> str:
    """My reports (signed in) and the lookup by tracking id + phone or e-mail."""
    config = {"page": "report_mine", "signed_in": signed_in, **labels(tr)}
    return panel_page(settings, tr, MINE, shell=shell, config=config)
