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

from web_map.i18n import CHINESE, N_, Translator
from web_map.pages import FAVICON, STATIC_URL
from web_map.photo_labels import STAGE_NAMES
from web_map.workflow_labels import ACTIONS, SOURCES, STATUSES

TEXT: dict[str, str] = {
    "title": N_("Case file"),
    "heading": N_("Case file"),
    "printed": N_("Printed"),
    "print": N_("Print"),
    "summary": N_("Summary"),
    "map": N_("Place"),
    "timeline": N_("Timeline"),
    "photos": N_("Photos"),
    "no_photos": N_("No photos"),
    "category": N_("Category"),
    "status": N_("Status"),
    "description": N_("Description"),
    "source": N_("Source"),
    "reported": N_("Reported"),
    "due": N_("Due"),
    "closed": N_("Closed"),
    "department": N_("Department"),
    "grid": N_("Grid"),
    "community": N_("Community"),
    "street": N_("Street"),
    "building": N_("Building"),
    "location": N_("Location"),
    "reporter": N_("Reporter"),
    "when": N_("When"),
    "action": N_("Action"),
    "change": N_("Status"),
    "who": N_("By"),
    "note": N_("Note"),
    "taken": N_("Taken"),
    "uploaded": N_("Uploaded"),
    "hidden": N_("Hidden from the public"),
    "scale": N_("Map width"),
    "km": N_("≈ {n} km"),
    "m": N_("≈ {n} m"),
    "wgs84": N_("{lon}, {lat} (WGS 84)"),
    "public": N_("Public (not signed in)"),
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
/* read on a phone before printing: one column, the table scrolls sideways */
@media screen and (max-width: 600px) {
  .top { grid-template-columns: 1fr; }
  svg.map { width: 100%; height: auto; aspect-ratio: 1; }
  .timeline { overflow-x: auto; }
  .photos { grid-template-columns: 1fr 1fr; }
}
"""


def _when(value: Any, tz: ZoneInfo) -> str:
    if not value:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _label(table: Mapping[str, Any], key: Any, tr: Translator) -> str:
    entry = table.get(str(key))
    if not entry:
        return str(key or "—")
    return tr(entry if isinstance(entry, str) else entry[0])


def _area(entry: Any) -> str:
    if not entry:
        return "—"
    return f"{entry.get('name') or ''} ({entry.get('code')})".strip()


def _row(term: str, value: str, tr: Translator) -> str:
    return f"<dt>{escape(tr(TEXT[term]))}</dt><dd>{escape(value)}</dd>"


def _map_svg(place: dict[str, Any], tr: Translator) -> str:
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
        f'role="img" aria-label="{escape(tr(TEXT["map"]))}">'
        f'<g transform="scale({k},1)">{"".join(shapes)}{point}</g></svg>'
        f'<p class="meta">{escape(tr(TEXT["scale"]))}: {escape(_area_width(metres, tr))}</p>'
    )


def _area_width(metres: float, tr: Translator) -> str:
    if metres >= 1000:
        return tr(TEXT["km"], n=f"{metres / 1000:.1f}")
    return tr(TEXT["m"], n=f"{metres:.0f}")


def _photos(photos: list[dict[str, Any]], tz: ZoneInfo, tr: Translator) -> str:
    if not photos:
        return f"<p>{escape(tr(TEXT['no_photos']))}</p>"
    order = list(STAGE_NAMES)
    figures = []
    for p in sorted(photos, key=lambda p: (order.index(p["stage"]), p["id"])):
        caption = [
            _label(STAGE_NAMES, p["stage"], tr),
            f"{tr(TEXT['uploaded'])} {_when(p['uploaded_at'], tz)}",
        ]
        if p.get("captured_at"):
            caption.append(f"{tr(TEXT['taken'])} {_when(p['captured_at'], tz)}")
        if p.get("uploaded_by"):
            caption.append(str(p["uploaded_by"]))
        if p.get("hidden"):
            caption.append(f"{tr(TEXT['hidden'])}: {p.get('hidden_reason') or ''}")
        cls = ' class="hidden-photo"' if p.get("hidden") else ""
        figures.append(
            f'<figure{cls} data-photo="{int(p["id"])}" data-stage="{escape(p["stage"])}">'
            f'<img src="{escape(p["url"])}" alt="{escape(_label(STAGE_NAMES, p["stage"], tr))}">'
            f"<figcaption>{escape(' · '.join(caption))}</figcaption></figure>"
        )
    return f'<div class="photos">{"".join(figures)}</div>'


def _timeline(events: list[dict[str, Any]], tz: ZoneInfo, tr: Translator) -> str:
    head = "".join(
        f"<th>{escape(tr(TEXT[k]))}</th>" for k in ("when", "action", "change", "who", "note")
    )
    rows = []
    for e in events:
        move = _label(STATUSES, e["to_status"], tr)
        if e.get("from_status") and e["from_status"] != e["to_status"]:
            move = f"{_label(STATUSES, e['from_status'], tr)} → {move}"
        # events by someone not signed in (a resident, an Open311 app) carry the actor "public"
        actor = tr(TEXT["public"]) if e.get("actor") == "public" else e.get("actor")
        who = " · ".join(str(x) for x in (e.get("department"), actor) if x)
        cells = (
            _when(e["at"], tz),
            _label(ACTIONS, e["action"], tr),
            move,
            who,
            e.get("note") or "",
        )
        rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="timeline">{table}</div>'


def case_print_page(
    doc: dict[str, Any],
    place: dict[str, Any],
    *,
    timezone: str,
    now: dt.datetime,
    tr: Translator = CHINESE,
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
            _row("category", f"{doc['category']['name']} ({doc['category']['code']})", tr),
            _row("status", _label(STATUSES, doc["status"], tr), tr),
            _row("description", doc.get("description") or "—", tr),
            _row("source", _label(SOURCES, doc.get("source"), tr), tr),
            _row("reported", _when(doc.get("reported_at"), tz), tr),
            _row("due", _when(doc.get("due_at"), tz), tr),
            _row("closed", _when(doc.get("closed_at"), tz), tr),
            _row("department", f"{dept.get('name') or '—'} {dept.get('code') or ''}".strip(), tr),
            _row("grid", _area(a.get("grid")), tr),
            _row("community", _area(a.get("community")), tr),
            _row("street", _area(a.get("street")), tr),
            _row("building", building.get("name") or building.get("address") or "—", tr),
            _row("location", tr(TEXT["wgs84"], lon=f"{lon:.6f}", lat=f"{lat:.6f}"), tr),
            _row("reporter", " ".join(str(v) for v in reporter.values()) or "—", tr),
        ]
    )
    title = f"{tr(TEXT['title'])} {doc['id']}"
    timeline = _timeline(doc.get("events") or [], tz, tr)
    return f"""<!DOCTYPE html>
<html lang="{tr.html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="icon" href="{FAVICON}">
<style>{PRINT_CSS}</style>
<script src="{STATIC_URL}/case_print.js" defer></script></head>
<body id="gg-print-page" data-incident="{escape(doc["id"])}">
<header><h1>{escape(tr(TEXT["heading"]))} · {escape(doc["id"])}</h1>
<p class="meta">{escape(tr(TEXT["printed"]))} {escape(_when(now.isoformat(), tz))}</p>
<p class="no-print"><button type="button" id="gg-print">{escape(tr(TEXT["print"]))}</button></p>
</header>
<div class="top"><section><h2>{escape(tr(TEXT["summary"]))}</h2><dl>{summary}</dl></section>
<section><h2>{escape(tr(TEXT["map"]))}</h2>{_map_svg(place, tr)}</section></div>
<section><h2>{escape(tr(TEXT["timeline"]))}</h2>{timeline}</section>
<section><h2>{escape(tr(TEXT["photos"]))}</h2>{_photos(doc.get("photos") or [], tz, tr)}</section>
</body></html>"""
