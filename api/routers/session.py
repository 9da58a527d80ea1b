"""Page sign-in: GET/POST /login, POST /logout, and GET /api/v1/session for page scripts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import SESSION_COOKIE, ConnDep, CurrentUser, SettingsDep
from api.error_messages import localise
from api.errors import DomainError
from api.locale import TranslatorDep
from api.origin import require_same_origin
from api.responses import JSON
from api.routers.pages.shell import safe_next
from api.services.identity.sessions import login, logout, session_for_cookie
from web_map.login import login_page
from web_map.shell import home_of

router = APIRouter(tags=["session"])


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(tr: TranslatorDep, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return HTMLResponse(login_page(tr, next_url=safe_next(next)))


# Login CSRF: a session token cannot guard the form that creates the session (api/origin.py).
@router.post(
    "/login",
    include_in_schema=False,
    response_model=None,
    dependencies=[Depends(require_same_origin)],
)
def login_submit(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    tr: TranslatorDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> HTMLResponse | RedirectResponse:
    """Check the password, set the session cookie and go back to the page asked for (or, from a
    plain /login, on to the role's home page)."""
    target = safe_next(next)
    try:
        cookie, session = login(conn, name, password, settings.api.session_hours)
    except DomainError as exc:
        error = localise(exc.message, tr)
        return HTMLResponse(
            login_page(tr, next_url=target, error=error, name=name), status_code=401
        )
    if target == "/":
        target = home_of(session.user.role)
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(settings.api.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(require_same_origin)])
def logout_submit(request: Request, conn: ConnDep) -> RedirectResponse:
    """End the session and forget the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        logout(conn, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/v1/session", response_class=JSON)
def whoami(request: Request, conn: ConnDep, user: CurrentUser) -> JSON:
    """Who is signed in, and (for page sessions) the CSRF token to send with changes."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = session_for_cookie(conn, cookie) if cookie else None
    return JSON(
        {
            "user": {
                "name": user.name,
                "role": user.role,
                "area": user.area_code,
                "department": user.department_code,
            },
            "csrf_token": session.csrf_token if session and session.user.id == user.id else None,
        }
    )
