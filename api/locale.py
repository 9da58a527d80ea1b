"""The language of one request: ?lang=, the remembered cookie, Accept-Language, GRIDGOV_LOCALE."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web_map.i18n import COOKIE, Translator, choose_locale


def request_translator(request: Request) -> Translator:
    """The Translator of the request's language (no I/O: safe in exception handlers)."""
    settings = request.app.state.settings.i18n
    asked = request.query_params.get("lang")
    locale = choose_locale(
        asked=asked[:16] if asked else None,
        cookie=request.cookies.get(COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=settings.locale,
        pseudo=settings.pseudo_locale,
    )
    return Translator(locale)


async def get_translator(request: Request) -> Translator:
    """`request_translator` as a dependency (async: no worker thread for a header lookup)."""
    return request_translator(request)


TranslatorDep = Annotated[Translator, Depends(get_translator)]
