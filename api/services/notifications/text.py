"""The words of notifications (zh_CN), kept in one place for the gettext catalogue (issue 17)."""

from __future__ import annotations

from typing import Any

SUBJECT = "【网格治理】案件 {incident}：{headline}"

# What the reporter is told, by the status their report reached.
REPORTER_STATUS = {
    "registered": "您反映的问题已受理，正在安排处理。",
    "dispatched": "您反映的问题已派给承办部门。",
    "in_progress": "承办部门正在处理您反映的问题。",
    "handled": "您反映的问题已处置，等待现场核查。",
    "closed": "您反映的问题已办结。欢迎对办理结果进行评价。",
    "rejected": "您反映的问题未予受理。",
    "suspended": "您反映的问题暂缓办理（挂账）。",
    "reported": "您反映的问题已收到。",
}
REJECT_REASONS = {"invalid": "经核实不属于可受理的问题", "duplicate": "与已受理的问题重复"}

# What a department, dispatcher or officer is told, by action (or kind for scheduled ones).
STAFF_ACTION = {
    "dispatch": "新派遣案件，请及时受理",
    "whistle": "吹哨：请派人到场报到",
    "urge": "{level}：请加快办理",
    "escalate": "案件已上报至本级，请研判处置",
    "handle": "案件已处置，请现场核查",
    "due": "案件已到处置时限仍未办结",
    "review": "群众评价不满意，案件退回指挥中心重新审核",
    "test": "测试通知：通知渠道工作正常",
}
LINES = {
    "note": "说明：{note}",
    "reason": "原因：{reason}",
    "duplicate_of": "原案件：{duplicate_of}",
    "due_at": "处置时限：{due_at}",
    "deadline_at": "报到时限：{deadline_at}",
    "link": "查看：{link}",
    "supporting": "（协办）",
}


def render(payload: dict[str, Any], public_url: str) -> tuple[str, str, str]:
    """(subject, body text, link) of one notification."""
    incident = str(payload.get("incident") or "")
    data = payload.get("data") or {}
    kind = payload.get("kind")
    if payload.get("rule") == "reporter":
        headline = REPORTER_STATUS.get(str(payload.get("status")), REPORTER_STATUS["reported"])
        path = f"/report/{incident}"
    else:
        key = str(kind if kind in ("due", "test") else payload.get("action"))
        headline = STAFF_ACTION.get(key, key).format(level=data.get("level", "催办"))
        path = f"/map/dispatch?incident={incident}" if incident else "/"
    link = public_url.rstrip("/") + path
    lines = [headline]
    if data.get("reason") in REJECT_REASONS:
        lines.append(LINES["reason"].format(reason=REJECT_REASONS[data["reason"]]))
    if data.get("duplicate_of"):
        lines.append(LINES["duplicate_of"].format(duplicate_of=data["duplicate_of"]))
    if payload.get("note"):
        lines.append(LINES["note"].format(note=payload["note"]))
    for key in ("due_at", "deadline_at"):
        when = payload.get(key) or data.get(key)
        if when:
            lines.append(LINES[key].format(**{key: when}))
    lines.append(LINES["link"].format(link=link))
    subject = SUBJECT.format(incident=incident or "—", headline=headline.rstrip("。"))
    return subject, "\n".join(lines) + "\n", link
