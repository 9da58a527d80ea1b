"""Words of the case file's photos on the pages (issue 16), in one place for the catalogue.

Handed to the page scripts in their JSON config (`photo_text`, `photo_stages`) and used by the
print page; English ids of the catalogue, shown in the request's language (docs/i18n.md).
"""

from __future__ import annotations

from typing import Any

from web_map.i18n import CHINESE, N_, Translator

TEXT: dict[str, str] = {
    "photos": N_("Photos"),
    "camera": N_("Take a photo"),
    "add": N_("Choose photos"),
    "remove": N_("Remove"),
    "none": N_("No photos yet"),
    "too_many": N_("At most {max} photos"),
    "too_big": N_("Photo too large (limit {mb} MB)"),
    "uploading": N_("Uploading…"),
    "use_gps": N_("Use where the photo was taken"),
    "gps_found": N_("This photo knows where it was taken"),
    "hidden": N_("Hidden from the public"),
    "close": N_("Close"),
    "hide": N_("Hide from the public"),
    "hide_reason": N_("Reason (required)"),
    "taken": N_("Taken"),
    "by": N_("By"),
    "before_after": N_("Before and after"),
    "upload_failed": N_("Photo upload failed"),
    "print": N_("Print case file"),
    "after_photos": N_("Photos after the work"),
    "before_photos": N_("Photos before the work"),
    "verify_photos": N_("Verification photos"),
    "info_photos": N_("Photos with the information"),
}

# stage → English id of its name (pages and print page); order is the loop's order.
STAGE_NAMES: dict[str, str] = {
    "report": N_("Photos of the report"),
    "info": N_("More information"),
    "before": N_("Before"),
    "after": N_("After"),
    "verify": N_("Verification"),
}

# Which stage each workflow form's photos are uploaded as (api/services/photos/rules.py).
ACTION_STAGES: dict[str, list[str]] = {
    "handle": ["before", "after"],
    "verify": ["verify"],
    "self_handle": ["verify"],
    "add_info": ["info"],
}


def photo_labels(
    max_photos: int = 9, max_photo_bytes: int = 10 * 1024 * 1024, *, tr: Translator = CHINESE
) -> dict[str, Any]:
    """The photo words and limits, in `tr`'s language, as JSON-ready data for a page config."""
    return {
        "photo_text": {k: tr(v) for k, v in TEXT.items()},
        "photo_stages": {k: {"label": tr(v)} for k, v in STAGE_NAMES.items()},
        "photo_action_stages": ACTION_STAGES,
        "photo_limits": {"max": max_photos, "bytes": max_photo_bytes},
    }
