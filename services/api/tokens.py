"""API tokens: `tw_<id>_<secret>`, with scopes; only the SHA-256 of the secret is stored.

The secret is 32 random bytes, so a plain hash (no salt, no slow KDF) is enough: nobody can guess it,
and a leaked table gives nothing to try offline. Tokens are created and revoked with the CLI.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from services.errors import NotFound, TickworkError
from services.storage.db import as_utc
from services.storage.models import ApiToken

PREFIX = "tw_"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is refreshed at most this often


class Scope(StrEnum):
    READ = "read"  # every GET
    CREATE = "create"  # submit tasks
    CANCEL = "cancel"  # cancel tasks
    NOTIFY = "notify"  # send notifications: the `notifications` queue's actors through POST /api/v1/tasks
    ADMIN = "admin"  # everything: dead letters, jobs, and whatever the other scopes allow


class TokenNotFound(NotFound):
    """Raised when no token has the given id."""


class InvalidToken(TickworkError):
    """Raised when a bearer token is malformed, unknown or revoked."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the audit log names them."""

    token_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: Scope) -> bool:
        return scope.value in self.scopes or Scope.ADMIN.value in self.scopes

    def __str__(self) -> str:
        return f"token:{self.token_id} ({self.name})"


def create_token(*, session: Session, name: str, scopes: Iterable[Scope | str]) -> tuple[ApiToken, str]:
    """A new token; returns its row and the full token text, which is not stored and shown once."""
    wanted = sorted({Scope(scope).value for scope in scopes})
    if not wanted:
        raise ValueError("a token needs at least one scope")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiToken(id=token_id, name=name, secret_sha256=_digest(secret), scopes=wanted, created_at=datetime.now(UTC))
    session.add(row)
    return row, f"{PREFIX}{token_id}_{secret}"


def revoke_token(*, session: Session, token_id: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFound(f"no token with id {token_id!r} (see `tickwork tokens list`)")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.add(row)
    return row


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.created_at))))


def authenticate(*, session: Session, token: str) -> Caller:
    """The caller a bearer token stands for; raises InvalidToken (never says which part was wrong)."""
    token_id, _, secret = token.removeprefix(PREFIX).partition("_")
    row = session.get(ApiToken, token_id) if token.startswith(PREFIX) and secret else None
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        raise InvalidToken("invalid or revoked token")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - as_utc(row.last_used_at) > TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
    return Caller(row.id, row.name, frozenset(row.scopes))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenCache:
    """The callers of recently checked tokens, for `ttl_s` seconds: a request need not look its token
    up in the database, and a revocation still takes effect within `ttl_s` in every API process.
    Only valid tokens are kept (an unknown one is looked up every time), keyed by the token's hash."""

    def __init__(self, ttl_s: float = 1.0, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.max_entries, self._clock = ttl_s, max_entries, clock
        self._lock = threading.Lock()
        self._callers: dict[str, tuple[float, Caller]] = {}

    def caller(self, token: str, look_up: Callable[[str], Caller]) -> Caller:
        """The caller of `token`, from the cache or `look_up(token)` (which raises InvalidToken)."""
        key, now = _digest(token), self._clock()
        with self._lock:
            cached = self._callers.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        caller = look_up(token)
        with self._lock:
            if len(self._callers) >= self.max_entries:
                self._callers.clear()  # crude, and rare: more live tokens than this in one second
            self._callers[key] = (now + self.ttl_s, caller)
        return caller
