"""Residents' pages: /report (click the map, pick a category, submit) and /report/{id} (follow it).

Both are public. `static/report.js` does the work against the API: GET /api/v1/locate, then
/api/v1/catalogue?area= for the categories offered where the point is, POST /api/v1/incidents
with an Idempotency-Key per form, and GET /api/v1/incidents/{id} for the public view.
"""

from __future__ import annotations

from typing import Any

from api.settings import MapSettings
from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import (
    RawHtml,
    add_page_config,
    area_layers,
    base_map,
    figure_of,
    page_js,
    render_page,
)
from web_map.photo_labels import photo_labels
from web_map.templating import render
from web_map.workflow_labels import labels

REPORT_JS = page_js("photos", "report")
STATUS_JS = page_js("photos", "report_status")


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
    fmap = base_map(settings, tr, title=N_("Report a problem"), shell=shell)
    fmap.default_js = list(REPORT_JS)
    levels = area_layers(fmap, only=("grid",), tr=tr, labels=settings.level_labels)
    figure_of(fmap).html.add_child(RawHtml(render("report_form.html", tr)))
    add_page_config(
        fmap,
        {
            "page": "report",
            "levels": levels,
            "signed_in": signed_in,
            "public_reporting": public_reporting,
            **labels(tr),
            **(photos or photo_labels(tr=tr)),
        },
    )
    return render_page(fmap)


def report_status_page(
    settings: MapSettings,
    incident_id: str,
    tr: Translator = CHINESE,
    *,
    signed_in: bool = False,
    shell: str = "",
) -> str:
    """The reporter's view of one report: outcome, public steps, the 回访 rating form."""
    fmap = base_map(settings, tr, title=N_("Report status"), shell=shell)
    fmap.default_js = list(STATUS_JS)
    figure_of(fmap).html.add_child(RawHtml(render("report_status.html", tr)))
    config = {"page": "report_status", "incident": incident_id, "signed_in": signed_in}
    add_page_config(fmap, {**config, **labels(tr), **photo_labels(tr=tr)})
    return render_page(fmap)


def report_mine_page(
    settings: MapSettings, tr: Translator = CHINESE, *, signed_in: bool = False, shell: str = ""
) -> str:
    """My reports (signed in) and the lookup by tracking id + phone or e-mail."""
    fmap = base_map(settings, tr, title=N_("My reports"), shell=shell)
    fmap.default_js = list(STATUS_JS)
    figure_of(fmap).html.add_child(RawHtml(render("report_mine.html", tr)))
    add_page_config(fmap, {"page": "report_mine", "signed_in": signed_in, **labels(tr)})
    return render_page(fmap)
