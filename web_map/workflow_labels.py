"""Words and colours of the closed loop, shared by the dispatch console and the report pages.

Handed to the page scripts in their JSON config, so the labels live in one place.
"""

from __future__ import annotations

from typing import Any

from web_map.i18n import N_, Translator

# status → (label, marker colour); order is the loop's order.
STATUSES: dict[str, tuple[str, str]] = {
    "reported": (N_("Reported"), "#d62728"),
    "registered": (N_("Registered"), "#ff7f0e"),
    "dispatched": (N_("Dispatched"), "#1f77b4"),
    "in_progress": (N_("In progress"), "#9467bd"),
    "handled": (N_("Handled"), "#17becf"),
    "closed": (N_("Closed"), "#2ca02c"),
    "rejected": (N_("Rejected"), "#7f7f7f"),
    "suspended": (N_("Suspended"), "#8c564b"),
}
OPEN_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled", "suspended")

# Workflow actions (api/services/workflow/machine.py WHO), the two whistle endpoints, and the
# intake event.
ACTIONS: dict[str, str] = {
    "report": N_("Filed report"),
    "register": N_("Register"),
    "reject": N_("Reject"),
    "dispatch": N_("Dispatch"),
    "accept": N_("Accept"),
    "return": N_("Return"),
    "handle": N_("Handle"),
    "verify": N_("Verify"),
    "self_handle": N_("Handle on the spot"),
    "request_extension": N_("Request extension"),
    "approve_extension": N_("Decide extension"),
    "suspend": N_("Suspend"),
    "reopen": N_("Reopen"),
    "escalate": N_("Escalate"),
    "acknowledge": N_("Acknowledge"),
    "add_info": N_("Add information"),
    "urge": N_("Urge"),
    "rate": N_("Rated"),
    "review": N_("Sent back for review"),
    "whistle": N_("Whistle"),
    "check_in": N_("Check in"),
    "withdraw_whistle": N_("Withdraw whistle"),
    "reassign": N_("Reassigned"),
    "hide_photo": N_("Photo hidden"),
}

# A summoned department's state in a whistle (api/services/workflow/whistles.py WHISTLE_JSON), and
# why a
# whistle ended.
CHECK_IN_STATES: dict[str, str] = {
    "pending": N_("Awaiting check-in"),
    "on_time": N_("Checked in on time"),
    "late": N_("Checked in late"),
    "missing": N_("Did not check in"),
    "cancelled": N_("Summons cancelled"),
}
WHISTLE_ENDS: dict[str, str] = {
    "closed": N_("Ended: the case was closed"),
    "rejected": N_("Ended: the case was rejected"),
    "withdrawn": N_("Withdrawn"),
}

SOURCES: dict[str, str] = {
    "resident": N_("Resident"),
    "patrol": N_("Patrol"),
    "hotline": N_("Hotline"),
    "officer": N_("Grid officer"),
    "api": N_("API"),
    "open311": N_("Open311 app"),
}

METHODS: dict[str, str] = {
    "building": N_("the building's grid"),
    "inside": N_("inside the grid"),
    "nearest": N_("nearest grid"),
    "outside": N_("no grid here: the covering area"),
}


def labels(tr: Translator) -> dict[str, Any]:
    """The label tables in `tr`'s language as JSON-ready data for a page config."""
    return {
        "statuses": {k: {"label": tr(t), "color": c} for k, (t, c) in STATUSES.items()},
        "open_statuses": list(OPEN_STATUSES),
        "actions": {k: {"label": tr(t)} for k, t in ACTIONS.items()},
        "sources": {k: {"label": tr(t)} for k, t in SOURCES.items()},
        "methods": {k: {"label": tr(t)} for k, t in METHODS.items()},
        "check_in_states": {k: {"label": tr(t)} for k, t in CHECK_IN_STATES.items()},
        "whistle_ends": {k: {"label": tr(t)} for k, t in WHISTLE_ENDS.items()},
    }
