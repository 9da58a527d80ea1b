"""What the pages share: the header, the page context (PageDep), the sign-in redirect, and
GET /lang/{code}: switch the language and remember it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse

from api.deps import OptionalUser, SettingsDep
from api.locale import TranslatorDep
from api.services.identity.auth import User
from api.settings import Settings
from web_map.i18n import COOKIE, LOCALES, PSEUDO, Translator
from web_map.shell import ShellUser, shell_markup

router = APIRouter(tags=["pages"], include_in_schema=False)
LANG_COOKIE_DAYS = 365


def page_shell(tr: Translator, user: User | None, here: str) -> str:
    """The header of a page at `here` for `user` (None: anonymous)."""
    who = ShellUser(user.name, user.role) if user is not None else None
    return shell_markup(tr, who, here)


@dataclass(frozen=True)
class Page:
    """What every page is built from: the settings, the visitor (None: anonymous) and the
    visitor's language."""

    settings: Settings
    user: User | None
    tr: Translator

    def shell(self, here: str) -> str:
        """The header of this page at `here` (page_shell)."""
        return page_shell(self.tr, self.user, here)


async def page_context(settings: SettingsDep, user: OptionalUser, tr: TranslatorDep) -> Page:
    """The page's context (async: it only gathers what the other dependencies gave)."""
    return Page(settings, user, tr)


PageDep = Annotated[Page, Depends(page_context)]


def login_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in form, coming back to this very page (query string included)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


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
