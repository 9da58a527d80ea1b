"""The pages' shared header and GET /lang/{code}: switch the language and remember it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse

from api.services.identity.auth import User
from web_map.i18n import COOKIE, LOCALES, PSEUDO, Translator
from web_map.shell import ShellUser, shell_markup

router = APIRouter(tags=["pages"], include_in_schema=False)
LANG_COOKIE_DAYS = 365


def page_shell(tr: Translator, user: User | None, here: str) -> str:
    """The header of a page at `here` for `user` (None: anonymous)."""
    who = ShellUser(user.name, user.role) if user is not None else None
    return shell_markup(tr, who, here)


def safe_next(url: str | None) -> str:
    """Only same-site paths: never redirect a user to another host."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


@router.get("/lang/{code}")
def switch_language(
    request: Request,
    code: Annotated[str, Path(max_length=16)],
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> RedirectResponse:
    """Remember `code` as this browser's language and go back to the page."""
    allowed = set(LOCALES) | ({PSEUDO} if request.app.state.settings.i18n.pseudo_locale else set())
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in allowed:
        response.set_cookie(
            COOKIE, code, max_age=LANG_COOKIE_DAYS * 86400, samesite="lax", path="/"
        )
    return response
