"""The HTML encoding of the OGC API (Part 1 `html` class): the same documents, for people.

Plain server-rendered pages with no script and nothing loaded from elsewhere: a table per
document and links to follow. Every value is escaped. The words (TEXT, catalogue ids) are in the
request's language, Chinese by default; the documents come here with theirs already translated
(`ogc.localised`).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from starlette.responses import HTMLResponse

from web_map.i18n import CHINESE, N_, Translator

TEXT = {
    "title": N_("GridGov spatial data service (OGC API – Features)"),
    "collections": N_("Collections"),
    "conformance": N_("Conformance classes"),
    "id": N_("Identifier"),
    "name": N_("Name"),
    "description": N_("Description"),
    "items": N_("Features"),
    "queryables": N_("Queryable properties"),
    "type": N_("Type"),
    "matched": N_("Matched"),
    "returned": N_("On this page"),
    "next": N_("Next page"),
    "prev": N_("Previous page"),
    "json": N_("As JSON"),
    "crs": N_("Coordinate reference systems"),
    "links": N_("Links"),
    "geometry": N_("Geometry"),
}

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC",sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:.85em;word-break:break-all}
"""


def page(body: str, tr: Translator = CHINESE) -> HTMLResponse:
    """A whole page around `body`, in `tr`'s language."""
    title = escape(tr(TEXT["title"]))
    return HTMLResponse(
        f'<!doctype html><html lang="{tr.html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def _a(href: str, label: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(label)}</a>'


def _json_link(doc: dict[str, Any], tr: Translator) -> str:
    for ln in doc.get("links", []):
        if ln.get("rel") == "self":
            sep = "&" if "?" in ln["href"] else "?"
            return "<p>" + _a(ln["href"] + sep + "f=json", tr(TEXT["json"])) + "</p>"
    return ""


def _links(doc: dict[str, Any], tr: Translator) -> str:
    rows = "".join(
        f"<li>{_a(ln['href'], ln.get('title') or ln['rel'])} <code>{escape(ln['rel'])}</code></li>"
        for ln in doc.get("links", [])
    )
    return f"<h2>{escape(tr(TEXT['links']))}</h2><ul>{rows}</ul>"


def landing(doc: dict[str, Any], tr: Translator = CHINESE) -> str:
    """The landing page."""
    return f"<p>{escape(doc['description'])}</p>{_links(doc, tr)}"


def conformance(doc: dict[str, Any], tr: Translator = CHINESE) -> str:
    """The conformance classes."""
    rows = "".join(f"<li><code>{escape(c)}</code></li>" for c in doc["conformsTo"])
    return f"<h2>{escape(tr(TEXT['conformance']))}</h2><ul>{rows}</ul>"


def _collection_row(c: dict[str, Any], tr: Translator) -> str:
    items = next((ln["href"] for ln in c["links"] if ln["rel"] == "items"), "")
    self_ = next((ln["href"] for ln in c["links"] if ln["rel"] == "self"), "")
    return (
        f"<tr><td>{_a(self_ + '?f=html', c['id'])}</td><td>{escape(c['title'])}</td>"
        f"<td>{escape(c['description'])}</td>"
        f"<td>{_a(items + '?f=html', tr(TEXT['items']))}</td></tr>"
    )


def collections(doc: dict[str, Any], tr: Translator = CHINESE) -> str:
    """The list of collections."""
    head = "".join(f"<th>{escape(tr(TEXT[k]))}</th>" for k in ("id", "name", "description"))
    head = f"<tr>{head}<th></th></tr>"
    rows = "".join(_collection_row(c, tr) for c in doc["collections"])
    return (
        f"<h2>{escape(tr(TEXT['collections']))}</h2>{_json_link(doc, tr)}"
        f"<table>{head}{rows}</table>"
    )


def collection(doc: dict[str, Any], tr: Translator = CHINESE) -> str:
    """One collection."""
    crs = "".join(f"<li><code>{escape(c)}</code></li>" for c in doc["crs"])
    return (
        f"<h2>{escape(doc['title'])}</h2><p>{escape(doc['description'])}</p>"
        f"{_json_link(doc, tr)}<h3>{escape(tr(TEXT['crs']))}</h3><ul>{crs}</ul>{_links(doc, tr)}"
    )


def queryables(doc: dict[str, Any], tr: Translator = CHINESE) -> str:
    """The queryables of a collection."""
    rows = "".join(
        f"<tr><td><code>{escape(k)}</code></td>"
        f"<td>{escape(v.get('format') or v.get('type', ''))}</td></tr>"
        for k, v in doc["properties"].items()
    )
    head = f"<tr><th>{escape(tr(TEXT['name']))}</th><th>{escape(tr(TEXT['type']))}</th></tr>"
    title = f"{escape(tr(TEXT['queryables']))} · {escape(doc['title'])}"
    return f"<h2>{title}</h2><table>{head}{rows}</table>"


def items(collection_id: str, body: bytes, tr: Translator = CHINESE) -> str:
    """A page of features as a table of their properties."""
    doc = json.loads(body)
    features = doc["features"]
    keys: list[str] = []
    for feat in features:
        keys.extend(k for k in feat["properties"] if k not in keys)
    head = "".join(f"<th>{escape(k)}</th>" for k in [tr(TEXT["id"]), *keys])
    rows = "".join(
        "<tr><td>"
        + _a(f"items/{feat['id']}?f=html", str(feat["id"]))
        + "</td>"
        + "".join(f"<td>{escape(_cell(feat['properties'].get(k)))}</td>" for k in keys)
        + "</tr>"
        for feat in features
    )
    nav = " ".join(
        _a(_html_href(ln["href"]), tr(TEXT[ln["rel"]]))
        for ln in doc["links"]
        if ln["rel"] in ("prev", "next")
    )
    counts = (
        f"<p>{escape(tr(TEXT['matched']))} {doc['numberMatched']} · "
        f"{escape(tr(TEXT['returned']))} {doc['numberReturned']} {nav}</p>"
    )
    return f"<h2>{escape(collection_id)}</h2>{counts}<table><tr>{head}</tr>{rows}</table>"


def feature(collection_id: str, body: bytes, tr: Translator = CHINESE) -> str:
    """One feature: its properties and its geometry's type."""
    doc = json.loads(body)
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(_cell(v))}</td></tr>"
        for k, v in doc["properties"].items()
    )
    geometry = (doc.get("geometry") or {}).get("type", "")
    return (
        f"<h2>{escape(collection_id)} · {escape(str(doc['id']))}</h2><table>{rows}"
        f"<tr><th>{escape(tr(TEXT['geometry']))}</th><td>{escape(geometry)}</td></tr></table>"
        f"{_links(doc, tr)}"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _html_href(href: str) -> str:
    return href + ("&" if "?" in href else "?") + "f=html" if "f=" not in href else href
