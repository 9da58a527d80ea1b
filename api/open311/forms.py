"""Reading Open311 input: the form-encoded POST body and the GET requests query.

GeoReport v2 treats an empty parameter like an absent one, so both readers drop empty values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from api.dates import check_year
from api.errors import BadRequest
from gis.features import BBox

MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 500
MAX_IDS = 1000
WINDOW = dt.timedelta(days=90)
DEFAULT_PAGE_SIZE = 1000

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# An unencoded '+' in a query string arrives as a space: "…T08:00:00 08:00" meant "+08:00".
_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


@dataclass
class RequestForm:
    """The fields of a POST requests form; `attributes` holds attribute[code] values."""

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    media: list[Any] = field(default_factory=list)  # photos of a multipart POST (issue 16)

    def get(self, name: str) -> str | None:
        """A field's value without surrounding spaces; None when absent or empty."""
        value = self.fields.get(name, "").strip()
        return value or None

    def raw(self, name: str) -> str:
        """A field's value exactly as sent ('' when absent)."""
        return self.fields.get(name, "")


def parse_form(body: bytes, query: list[tuple[str, str]] | None = None) -> RequestForm:
    """Decode a form-encoded body (UTF-8); query-string fields count too, the body wins."""
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest(f"The request form is larger than {MAX_FORM_BYTES // 1024} KiB.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError as exc:
        raise BadRequest("The request form must be UTF-8 encoded.") from exc
    except ValueError as exc:
        raise BadRequest(f"The request form has more than {MAX_FORM_FIELDS} fields.") from exc
    return form_from_pairs([*(query or []), *pairs])


def form_from_pairs(pairs: list[tuple[str, str]]) -> RequestForm:
    """A form from (name, value) pairs in order: attribute[code] answers collected, last wins."""
    form = RequestForm()
    for key, value in pairs:
        match = _ATTRIBUTE.match(key)
        if match:
            form.attributes.setdefault(match.group(1), []).append(value)
        else:
            form.fields[key] = value
    return form


def form_location(form: RequestForm) -> tuple[float, float, str | None]:
    """(long, lat, crs) of a POST; GridGov locates by lat + long only (address alone → 400)."""
    lat_text, lon_text = form.get("lat"), form.get("long")
    if lat_text is None and lon_text is None:
        if form.get("address_string") or form.get("address_id"):
            raise BadRequest(
                "GridGov locates service requests by lat and long only; an address_string or "
                "address_id alone cannot be placed. Send lat and long (WGS 84 decimal degrees)."
            )
        raise BadRequest("lat and long are required (WGS 84 decimal degrees).")
    if lat_text is None or lon_text is None:
        missing = "lat" if lat_text is None else "long"
        raise BadRequest(f"Send both lat and long; {missing} is missing.")
    lat, lon = _number("lat", lat_text), _number("long", lon_text)
    crs = form.get("crs")
    if crs is None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = ""
        if abs(lon) <= 90 < abs(lat):
            hint = " They look swapped: send the latitude as lat and the longitude as long."
        raise BadRequest(f"lat must be within -90..90 and long within -180..180.{hint}")
    return lon, lat, crs


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a number in decimal degrees; got {text!r}.")
    return value


@dataclass
class RequestQuery:
    """The filters of GET requests, with the spec's default window applied."""

    ids: list[str] | None = None
    service_codes: list[str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: set[str] | None = None
    bbox: BBox | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def parse_query(
    params: Mapping[str, str | None], *, now: dt.datetime, max_page_size: int
) -> RequestQuery:
    """Check the GET requests parameters; dates without a zone are taken as UTC."""
    q = RequestQuery(page_size=min(DEFAULT_PAGE_SIZE, max_page_size))
    value = {k: (v or "").strip() for k, v in params.items()}
    q.page = _positive(value, "page", 1)
    q.page_size = _positive(value, "page_size", q.page_size)
    if q.page_size > max_page_size:
        raise BadRequest(f"page_size must be at most {max_page_size}.")
    ids = _list(value.get("service_request_id", ""))
    if ids:
        if len(ids) > MAX_IDS:
            raise BadRequest(f"Ask for at most {MAX_IDS} service_request_id values at once.")
        q.ids = ids  # the spec: a list of ids overrides every other argument
        return q
    q.service_codes = _list(value.get("service_code", "")) or None
    statuses = set(_list(value.get("status", "")))
    if statuses - {"open", "closed"}:
        raise BadRequest("status must be open, closed or both (open,closed).")
    q.statuses = statuses or None
    if value.get("bbox"):
        q.bbox = _bbox(value["bbox"])
    q.updated_after = _when(value, "updated_after")
    q.updated_before = _when(value, "updated_before")
    if q.updated_after and q.updated_before and q.updated_after > q.updated_before:
        raise BadRequest("updated_after must not be later than updated_before.")
    q.start, q.end = _when(value, "start_date"), _when(value, "end_date")
    if q.start and q.end:
        if q.end < q.start:
            raise BadRequest("end_date must not be earlier than start_date.")
        if q.end - q.start > WINDOW:
            raise BadRequest("start_date and end_date may not span more than 90 days.")
    elif q.start:
        q.end = q.start + WINDOW
    elif q.end:
        q.start = q.end - WINDOW
    elif not (q.updated_after or q.updated_before):
        q.start = now - WINDOW  # the spec's default: the most recent 90 days
    return q


def _list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _positive(value: dict[str, str], name: str, default: int) -> int:
    text = value.get(name)
    if not text:
        return default
    # isascii: "²" passes isdigit() but not int()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise BadRequest(f"{name} must be a whole number from 1; got {text!r}.")
    return int(text)


def _when(value: dict[str, str], name: str) -> dt.datetime | None:
    text = value.get(name)
    if not text:
        return None
    text = _SPACED_OFFSET.sub(r"+\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        check_year(parsed)  # the 90-day window arithmetic overflows near year 1 or 9999
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be a w3 date/time such as 2010-01-01T00:00:00Z; got {text!r}."
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _bbox(text: str) -> BBox:
    parts = text.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError as exc:
        raise BadRequest("bbox must be four numbers: minLong,minLat,maxLong,maxLat.") from exc
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (
        -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    ):
        raise BadRequest("bbox must be minLong,minLat,maxLong,maxLat within -180..180 and -90..90.")
    return x0, y0, x1, y1
