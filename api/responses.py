"""Response classes: orjson for our dicts, raw bytes for JSON that PostGIS already built."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.types import DecoratedCallable
from starlette.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(content: Any) -> bytes:
    """orjson with the few extra types our rows carry."""
    try:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits (an error echoing a client's huge number) and
        # nesting past 255 levels; the json module writes both (issue 15).
        return json.dumps(content, default=_default, ensure_ascii=False).encode()


class JSON(Response):
    """application/json rendered with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class GeoJSON(Response):
    """application/geo+json; content is bytes/str built by the database, or a dict."""

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes | str):
            return content.encode() if isinstance(content, str) else content
        return dumps(content)


def tile_route(
    router: APIRouter, path: str, media_type: str, description: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """GET `path` as a tile route: raw bytes, documented as a 200 of `media_type`."""
    responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {media_type: {}}, "description": description}
    }
    return router.get(path, response_class=Response, responses=responses)


def tile_or_not_modified(
    body: bytes, media_type: str, headers: dict[str, str], if_none_match: str | None
) -> Response:
    """The tile, or 304 when If-None-Match lists its ETag (`headers["ETag"]`)."""
    if if_none_match is not None and headers["ETag"] in {
        t.strip() for t in if_none_match.split(",")
    }:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
