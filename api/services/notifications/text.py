"""The words of notifications: catalogue ids (English), sent in the deployment's language.

Who receives a notification (an e-mail address, a webhook) has no language of their own here,
so the worker writes in GRIDGOV_LOCALE's (zh_CN by default); `render` takes that Translator.
"""

from __future__ import annotations

from typing import Any

from web_map.i18n import CHINESE, N_, Translator

SUBJECT = N_("[GridGov] Case {incident}: {headline}")

# What the reporter is told, by the status their report reached.
REPORTER_STATUS = {
    "registered": N_("Your report has been accepted and its handling is being arranged."),
    "dispatched": N_("Your report has been passed to the department that handles it."),
    "in_progress": N_("The department is working on your report."),
    "handled": N_("Your report has been dealt with and awaits an on-site check."),
    "closed": N_("Your report is closed. You are welcome to rate how it was handled."),
    "rejected": N_("Your report was not accepted."),
    "suspended": N_("Your report has been put on hold."),
    "reported": N_("Your report has been received."),
}
REJECT_REASONS = {
    "invalid": N_("on checking, it is not a problem that can be accepted"),
    "duplicate": N_("it repeats a problem already accepted"),
}

# What a department, dispatcher or officer is told, by action (or kind for scheduled ones).
STAFF_ACTION = {
    "dispatch": N_("A new case was dispatched to you; please accept it promptly"),
    "whistle": N_("Whistle: please send someone to report in on site"),
    "urge": N_("{level}: please speed up the handling"),
    "escalate": N_("The case was escalated to this level; please assess and act"),
    "handle": N_("The case has been dealt with; please check it on site"),
    "due": N_("The case reached its time limit and is still not done"),
    "review": N_(
        "The resident is not satisfied: the case goes back to the command centre for review"
    ),
    "test": N_("Test notification: the channel works"),
}
URGE = N_("Urge")  # the level when the urge names none
LINES = {
    "note": N_("Note: {note}"),
    "reason": N_("Reason: {reason}"),
    "duplicate_of": N_("Original case: {duplicate_of}"),
    "due_at": N_("Time limit: {due_at}"),
    "deadline_at": N_("Report in by: {deadline_at}"),
    "link": N_("Open: {link}"),
    "supporting": N_("(supporting)"),
}


def render(
    payload: dict[str, Any], public_url: str, tr: Translator = CHINESE
) -> tuple[str, str, str]:
    """(subject, body text, link) of one notification, in `tr`'s language."""
    incident = str(payload.get("incident") or "")
    data = payload.get("data") or {}
    kind = payload.get("kind")
    if payload.get("rule") == "reporter":
        status = str(payload.get("status"))
        headline = tr(REPORTER_STATUS.get(status, REPORTER_STATUS["reported"]))
        path = f"/report/{incident}"
    else:
        key = str(kind if kind in ("due", "test") else payload.get("action"))
        words = STAFF_ACTION.get(key)
        headline = tr(words, level=data.get("level") or tr(URGE)) if words else key
        path = f"/map/dispatch?incident={incident}" if incident else "/"
    link = public_url.rstrip("/") + path
    lines = [headline]
    if data.get("reason") in REJECT_REASONS:
        lines.append(tr(LINES["reason"], reason=tr(REJECT_REASONS[data["reason"]])))
    if data.get("duplicate_of"):
        lines.append(tr(LINES["duplicate_of"], duplicate_of=data["duplicate_of"]))
    if payload.get("note"):
        lines.append(tr(LINES["note"], note=payload["note"]))
    for key in ("due_at", "deadline_at"):
        when = payload.get(key) or data.get(key)
        if when:
            lines.append(tr(LINES[key], **{key: when}))
    lines.append(tr(LINES["link"], link=link))
    subject = tr(SUBJECT, incident=incident or "—", headline=headline.rstrip("。."))
    return subject, "\n".join(lines) + "\n", link
