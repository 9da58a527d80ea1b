"""The login page: a plain form (no map, no script), styled by gridgov.css."""

from __future__ import annotations

from web_map.i18n import Translator
from web_map.shell import shell_markup
from web_map.templating import render


def login_page(
    tr: Translator, *, next_url: str = "/", error: str | None = None, name: str = ""
) -> str:
    """HTML of the sign-in form; `error` (already in `tr`'s language) is shown above it."""
    shell = shell_markup(tr, None, "/login", show_sign_in=False)
    return render("login.html", tr, shell=shell, next_url=next_url, error=error, name=name)
