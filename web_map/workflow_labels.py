"""Words and colours of the closed loop, shared by the dispatch console and the report pages.

Handed to the page scripts in their JSON config, so the labels live in one place.
"""

from __future__ import annotations

from typing import Any

# status → (Chinese, English, marker colour); order is the loop's order.
STATUSES: dict[str, tuple[str, str, str]] = {
    "reported": ("已上报", "Reported", "#d62728"),
    "registered": ("已立案", "Registered", "#ff7f0e"),
    "dispatched": ("已派遣", "Dispatched", "#1f77b4"),
    "in_progress": ("处置中", "In progress", "#9467bd"),
    "handled": ("已处置", "Handled", "#17becf"),
    "closed": ("已结案", "Closed", "#2ca02c"),
    "rejected": ("已作废", "Rejected", "#7f7f7f"),
    "suspended": ("挂账", "Suspended", "#8c564b"),
}
OPEN_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled", "suspended")

# Workflow actions (api/services/workflow.py WHO), the two whistle endpoints, and the intake event.
ACTIONS: dict[str, tuple[str, str]] = {
    "report": ("上报", "Reported"),
    "register": ("立案", "Register"),
    "reject": ("作废", "Reject"),
    "dispatch": ("派遣", "Dispatch"),
    "accept": ("受理", "Accept"),
    "return": ("退回", "Return"),
    "handle": ("处置", "Handle"),
    "verify": ("核查", "Verify"),
    "self_handle": ("自处置", "Handle on the spot"),
    "request_extension": ("申请延期", "Request extension"),
    "approve_extension": ("审批延期", "Decide extension"),
    "suspend": ("挂账", "Suspend"),
    "reopen": ("恢复", "Reopen"),
    "escalate": ("上报上级", "Escalate"),
    "acknowledge": ("确认协办", "Acknowledge"),
    "add_info": ("补充信息", "Add information"),
    "urge": ("督办", "Urge"),
    "rate": ("回访评价", "Rated"),
    "review": ("不满意复核", "Sent back for review"),
    "whistle": ("吹哨", "Whistle"),
    "check_in": ("报到", "Check in"),
    "reassign": ("重新分派", "Reassigned"),
    "hide_photo": ("隐藏照片", "Photo hidden"),
}

SOURCES: dict[str, tuple[str, str]] = {
    "resident": ("居民", "Resident"),
    "patrol": ("巡查", "Patrol"),
    "hotline": ("热线", "Hotline"),
    "officer": ("网格员", "Grid officer"),
    "api": ("接口", "API"),
    "open311": ("Open311", "Open311 app"),
}

METHODS: dict[str, tuple[str, str]] = {
    "building": ("楼栋", "the building's grid"),
    "inside": ("网格内", "inside the grid"),
    "nearest": ("最近网格", "nearest grid"),
    "outside": ("无网格", "no grid here: the covering area"),
}


def labels() -> dict[str, Any]:
    """The label tables as JSON-ready data for a page config."""
    return {
        "statuses": {k: {"zh": z, "en": e, "color": c} for k, (z, e, c) in STATUSES.items()},
        "open_statuses": list(OPEN_STATUSES),
        "actions": {k: {"zh": z, "en": e} for k, (z, e) in ACTIONS.items()},
        "sources": {k: {"zh": z, "en": e} for k, (z, e) in SOURCES.items()},
        "methods": {k: {"zh": z, "en": e} for k, (z, e) in METHODS.items()},
    }
