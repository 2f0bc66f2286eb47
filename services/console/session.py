"""Console sessions: an API token given once on the login page, kept in an HttpOnly cookie.

The cookie holds `<nonce>.<issued>.<token>`: every request authenticates the token again, exactly as
the API does (a revoked token ends its sessions at once), and takes its scopes from it. The CSRF token
of a session is HMAC-SHA256(token, nonce and issue time): a page that cannot read the cookie cannot
compute it, each login gets a new one, and no server-side state is kept (any API replica checks it).
Every form and every scripted request carries it (field `csrf_token` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request, Response

from services.api.tokens import Caller, InvalidToken, Scope, authenticate
from services.errors import TickworkError
from services.settings import Settings
from services.storage.db import session_scope

COOKIE = "tw_console"
LOGIN_COOKIE = "tw_console_login"  # double-submit nonce of the login form (no session yet)
MAX_AGE_S = 12 * 3600
PATH = "/console"


class NeedsLogin(TickworkError):
    """Raised when a console request has no valid session."""


class Forbidden(TickworkError):
    """Raised when a console action lacks its scope or its CSRF token."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the console, what they may do, and their session's CSRF token."""

    caller: Caller
    csrf_token: str

    def can(self, scope: Scope | str) -> bool:
        return self.caller.allows(Scope(scope))

    @property
    def acts(self) -> dict[str, bool]:
        """For templates: which kinds of action buttons to render."""
        return {scope.value: self.can(scope) for scope in (Scope.CREATE, Scope.CANCEL, Scope.ADMIN)}


def cookie_value(token: str, now: float | None = None) -> str:
    return f"{secrets.token_urlsafe(16)}.{int(now or time.time())}.{token}"


def csrf_for(value: str) -> str:
    nonce, issued, token = value.split(".", 2)
    return hmac.new(token.encode(), f"console-csrf|{nonce}|{issued}".encode(), hashlib.sha256).hexdigest()


def secure_request(request: Request, settings: Settings) -> bool:
    """Whether the browser reached us over TLS (X-Forwarded-Proto counts only behind a trusted proxy:
    uvicorn applies it to the scheme then, and only then)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return settings.tickwork_api_trusted_proxy and forwarded == "https"


def set_session(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_S,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=secure_request(request, settings),
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")


def viewer(request: Request) -> Viewer:
    """The request's viewer; raises NeedsLogin. Sets request.state.caller for the audit log."""
    settings: Settings = request.app.state.settings
    value = request.cookies.get(COOKIE, "")
    parts = value.split(".", 2)
    if len(parts) != 3 or not parts[1].isdigit() or time.time() - int(parts[1]) > MAX_AGE_S:
        raise NeedsLogin("no console session")
    try:
        with session_scope(settings.database_url) as db:
            caller = authenticate(session=db, token=parts[2])
    except InvalidToken:
        raise NeedsLogin("the session's token is invalid or revoked") from None
    request.state.caller = caller
    return Viewer(caller, csrf_for(value))


@dataclass(frozen=True)
class Form:
    """A posted urlencoded form (the console sends no multipart, so it needs no form library)."""

    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> list[str]:
        return self.fields.get(name, [])


async def form_of(request: Request) -> Form:
    body = (await request.body()).decode("utf-8", errors="replace")
    return Form(parse_qs(body, keep_blank_values=True))


async def action(request: Request, scope: Scope) -> tuple[Viewer, Form]:
    """The viewer and form of a state-changing request, after checking its scope and CSRF token
    (refused with Forbidden, which the console answers with 403)."""
    who = viewer(request)
    form = await form_of(request)
    sent = request.headers.get("x-csrf-token") or form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), who.csrf_token.encode()):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    if not who.can(scope):
        raise Forbidden(f"this token lacks the {scope.value!r} scope")
    return who, form
