"""Login and logout: a token in, a session cookie out."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.api.tokens import InvalidToken, Scope, authenticate
from services.console.pages import render
from services.console.session import (
    LOGIN_COOKIE,
    PATH,
    Forbidden,
    action,
    clear_session,
    cookie_value,
    form_of,
    secure_request,
    set_session,
)
from services.settings import Settings
from services.storage.db import session_scope

router = APIRouter()


def _next(target: str | None) -> str:
    # Only a path inside the console: never an open redirect to another site.
    return target if target and target.startswith("/console/") and not target.startswith("//") else "/console/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(16)
    page = render(request, "login.html", None, nonce=nonce, next=_next(next), error=None)
    settings: Settings = request.app.state.settings
    page.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=600,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=secure_request(request, settings),
    )
    return page


@router.post("/login")
async def login(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form = await form_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("nonce", "").encode(), expected.encode()):
        raise Forbidden("the login form expired: reload it and try again")
    token = form.get("token", "").strip()
    try:
        with session_scope(settings.database_url) as db:
            caller = authenticate(session=db, token=token)
    except InvalidToken:
        nonce = secrets.token_urlsafe(16)
        page = render(
            request,
            "login.html",
            None,
            status_code=401,
            nonce=nonce,
            next=_next(form.get("next")),
            error="invalid or revoked token",
        )
        page.set_cookie(LOGIN_COOKIE, nonce, max_age=600, path=PATH, httponly=True, samesite="strict")
        return page
    request.state.caller = caller
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    set_session(response, request, settings, cookie_value(token))
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await action(request, Scope.READ)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session(response)
    return response
