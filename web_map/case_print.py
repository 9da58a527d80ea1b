"""GET /cases/{id}/print: the case file (案卷) on one A4 page — summary, map, timeline, photos.

Plain HTML built from the incident document the API serves (api/services/workflow_view) and
the map's SVG paths (api/services/case_file); print CSS lays it out for A4. Every value is
escaped; the only script is static/case_print.js (the print button).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from web_map.pages import FAVICON, STATIC_URL
from web_map.photo_labels import STAGES
from web_map.workflow_labels import ACTIONS, SOURCES, STATUSES

TEXT: dict[str, str] = {
    "title": "案卷",
    "heading": "GridGov 案卷 Case file",
    "printed": "打印时间 Printed",
    "print": "打印 Print",
    "summary": "案件信息 Summary",
    "map": "位置 Place",
    "timeline": "经过 Timeline",
    "photos": "照片 Photos",
    "no_photos": "无照片 No photos",
    "category": "类别 Category",
    "status": "状态 Status",
    "description": "描述 Description",
    "source": "来源 Source",
    "reported": "上报 Reported",
    "due": "期限 Due",
    "closed": "结案 Closed",
    "department": "责任部门 Department",
    "grid": "网格 Grid",
    "community": "社区 Community",
    "street": "街道 Street",
    "building": "楼栋 Building",
    "location": "坐标 Location",
    "reporter": "报告人 Reporter",
    "when": "时间 When",
    "action": "操作 Action",
    "change": "状态变化 Status",
    "who": "经办 By",
    "note": "说明 Note",
    "taken": "拍摄 Taken",
    "uploaded": "上传 Uploaded",
    "hidden": "已对公众隐藏 Hidden from the public",
    "scale": "图幅宽 Map width",
}

PRINT_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 10pt;
       color: #111; margin: 0 auto; max-width: 190mm; padding: 8px; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm; border-bottom: 1px solid #999; }
.meta { color: #555; font-size: 9pt; }
.top { display: grid; grid-template-columns: 1fr 70mm; gap: 4mm; }
dl { display: grid; grid-template-columns: 26mm 1fr; margin: 0; gap: 0.6mm 2mm; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
svg.map { width: 70mm; height: 70mm; border: 1px solid #999; background: #fafafa; }
table { width: 100%; border-collapse: collapse; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 0.8mm 1.2mm; text-align: left; vertical-align: top; }
.photos { display: grid; grid-template-columns: repeat(3, 1fr); gap: 2mm; }
figure { margin: 0; break-inside: avoid; }
figure img { width: 100%; height: 45mm; object-fit: cover; border: 1px solid #ccc; }
figcaption { font-size: 8pt; color: #333; }
.hidden-photo img { opacity: 0.5; }
.no-print { margin: 2mm 0; }
@media print { .no-print { display: none; } body { padding: 0; } }
"""


def _when(value: Any, tz: ZoneInfo) -> str:
    if not value:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _label(table: Mapping[str, tuple[str, ...]], key: Any) -> str:
    entry = table.get(str(key))
    return f"{entry[0]} {entry[1]}" if entry else str(key or "—")


def _area(entry: Any) -> str:
    if not entry:
        return "—"
    return f"{entry.get('name') or ''} ({entry.get('code')})".strip()


def _row(term: str, value: str) -> str:
    return f"<dt>{escape(TEXT[term])}</dt><dd>{escape(value)}</dd>"


def _map_svg(place: dict[str, Any]) -> str:
    """The frame in SVG: x = lon scaled by cos(lat) so metres are square, y = -lat."""
    k = math.cos(math.radians(place["lat"]))
    x0, x1 = place["xmin"] * k, place["xmax"] * k
    y0, y1 = -place["ymax"], -place["ymin"]
    width, height = x1 - x0, y1 - y0
    side = max(width, height)
    view = f"{x0 - (side - width) / 2} {y0 - (side - height) / 2} {side} {side}"
    shapes = [
        f'<path d="{escape(p)}" fill="#ddd" stroke="#888" vector-effect="non-scaling-stroke"/>'
        for p in place["buildings"]
    ]
    if place["area_path"]:
        shapes.insert(
            0,
            f'<path d="{escape(place["area_path"])}" fill="#e8f0fe" stroke="#1f4e9e" '
            'stroke-width="2" vector-effect="non-scaling-stroke"/>',
        )
    r = side / 60
    # an ellipse that the group's horizontal scale turns back into a circle
    point = (
        f'<ellipse id="gg-print-point" cx="{place["lon"]}" cy="{-place["lat"]}" rx="{r / k}" '
        f'ry="{r}" fill="#d62728" stroke="#fff" vector-effect="non-scaling-stroke"/>'
    )
    metres = side * 111_320  # one unit is a degree of latitude (x was scaled to match)
    return (
        f'<svg class="map" viewBox="{view}" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-label="{escape(TEXT["map"])}">'
        f'<g transform="scale({k},1)">{"".join(shapes)}{point}</g></svg>'
        f'<p class="meta">{escape(TEXT["scale"])}: {escape(_area_width(metres))}</p>'
    )


def _area_width(metres: float) -> str:
    return f"≈ {metres / 1000:.1f} km" if metres >= 1000 else f"≈ {metres:.0f} m"


def _photos(photos: list[dict[str, Any]], tz: ZoneInfo) -> str:
    if not photos:
        return f"<p>{escape(TEXT['no_photos'])}</p>"
    order = list(STAGES)
    figures = []
    for p in sorted(photos, key=lambda p: (order.index(p["stage"]), p["id"])):
        caption = [_label(STAGES, p["stage"]), f"{TEXT['uploaded']} {_when(p['uploaded_at'], tz)}"]
        if p.get("captured_at"):
            caption.append(f"{TEXT['taken']} {_when(p['captured_at'], tz)}")
        if p.get("uploaded_by"):
            caption.append(str(p["uploaded_by"]))
        if p.get("hidden"):
            caption.append(f"{TEXT['hidden']}: {p.get('hidden_reason') or ''}")
        cls = ' class="hidden-photo"' if p.get("hidden") else ""
        figures.append(
            f'<figure{cls} data-photo="{int(p["id"])}" data-stage="{escape(p["stage"])}">'
            f'<img src="{escape(p["url"])}" alt="{escape(_label(STAGES, p["stage"]))}">'
            f"<figcaption>{escape(' · '.join(caption))}</figcaption></figure>"
        )
    return f'<div class="photos">{"".join(figures)}</div>'


def _timeline(events: list[dict[str, Any]], tz: ZoneInfo) -> str:
    head = "".join(
        f"<th>{escape(TEXT[k])}</th>" for k in ("when", "action", "change", "who", "note")
    )
    rows = []
    for e in events:
        move = _label(STATUSES, e["to_status"])
        if e.get("from_status") and e["from_status"] != e["to_status"]:
            move = f"{_label(STATUSES, e['from_status'])} → {move}"
        who = " · ".join(str(x) for x in (e.get("department"), e.get("actor")) if x)
        cells = (_when(e["at"], tz), _label(ACTIONS, e["action"]), move, who, e.get("note") or "")
        rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def case_print_page(
    doc: dict[str, Any], place: dict[str, Any], *, timezone: str, now: dt.datetime
) -> str:
    """The whole printable page of one incident."""
    tz = ZoneInfo(timezone)
    a = doc.get("assignment") or {}
    dept = a.get("department") or {}
    building = a.get("building") or {}
    reporter = doc.get("reporter") or {}
    lon, lat = doc["location"]["coordinates"]
    summary = "".join(
        [
            _row("category", f"{doc['category']['name']} ({doc['category']['code']})"),
            _row("status", _label(STATUSES, doc["status"])),
            _row("description", doc.get("description") or "—"),
            _row("source", _label(SOURCES, doc.get("source"))),
            _row("reported", _when(doc.get("reported_at"), tz)),
            _row("due", _when(doc.get("due_at"), tz)),
            _row("closed", _when(doc.get("closed_at"), tz)),
            _row("department", f"{dept.get('name') or '—'} {dept.get('code') or ''}".strip()),
            _row("grid", _area(a.get("grid"))),
            _row("community", _area(a.get("community"))),
            _row("street", _area(a.get("street"))),
            _row("building", building.get("name") or building.get("address") or "—"),
            _row("location", f"{lon:.6f}, {lat:.6f} (WGS 84)"),
            _row("reporter", " ".join(str(v) for v in reporter.values()) or "—"),
        ]
    )
    title = f"{TEXT['title']} {doc['id']}"
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="icon" href="{FAVICON}">
<style>{PRINT_CSS}</style>
<script src="{STATIC_URL}/case_print.js" defer></script></head>
<body id="gg-print-page" data-incident="{escape(doc["id"])}">
<header><h1>{escape(TEXT["heading"])} · {escape(doc["id"])}</h1>
<p class="meta">{escape(TEXT["printed"])} {escape(_when(now.isoformat(), tz))}</p>
<p class="no-print"><button type="button" id="gg-print">{escape(TEXT["print"])}</button></p>
</header>
<div class="top"><section><h2>{escape(TEXT["summary"])}</h2><dl>{summary}</dl></section>
<section><h2>{escape(TEXT["map"])}</h2>{_map_svg(place)}</section></div>
<section><h2>{escape(TEXT["timeline"])}</h2>{_timeline(doc.get("events") or [], tz)}</section>
<section><h2>{escape(TEXT["photos"])}</h2>{_photos(doc.get("photos") or [], tz)}</section>
</body></html>"""
