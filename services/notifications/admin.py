"""What operators manage: recipients and their preferences, alert rules, and a view of the outbox.

Everything is checked when it is saved, not when a notification is due: an email address's syntax,
a webhook or Slack URL's scheme and destination (the SSRF guard, so a URL that points inward is
refused now rather than at 3 a.m.), severities, and each rule kind's parameters. A webhook or Slack
URL is a secret (whoever has a Slack incoming-webhook URL can post to the channel), so every listing
shows it redacted (`redact_url`); the real one stays in `notification_recipients`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from services.errors import NotFound, PortfolioNotFound, TickworkError, UnsafeDestination
from services.notifications.dispatch import CHANNELS, SEVERITY_RANK
from services.notifications.redaction import URL_CHANNELS, redact_address, redact_text, redact_url
from services.notifications.ssrf import SsrfGuard
from services.storage.db import as_utc
from services.storage.models import AlertRule, Notification, NotificationRecipient, Portfolio

SEVERITIES = tuple(SEVERITY_RANK)
# Deliberately plain: one @, no spaces, a dotted domain. The SMTP server is the final judge.
EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
OUTBOX_STATUSES = ("queued", "sending", "sent", "failed")
SECRET_PREFIX = "whsec_"


class PreferenceInvalid(TickworkError):
    """Raised when a recipient or an alert rule to save is invalid (an address, a URL, a parameter)."""


class RecipientNotFound(NotFound):
    """Raised when a recipient id names no recipient."""


class RuleNotFound(NotFound):
    """Raised when an alert rule id names no rule."""


# -- recipients -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientIn:
    account: str
    channel: str
    address: str
    portfolio_id: int | None = None
    min_severity: str = "warning"
    alerts: bool = True
    digest: bool = True


def check_address(channel: str, address: str, *, guard: SsrfGuard) -> str:
    """The address, trimmed, if `channel` can deliver to it; raises PreferenceInvalid otherwise."""
    address = address.strip()
    if channel not in CHANNELS:
        raise PreferenceInvalid(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")
    if len(address) > 1000:
        raise PreferenceInvalid("the address is longer than 1000 characters")
    if channel == "email":
        if not EMAIL.match(address):
            raise PreferenceInvalid(f"{address!r} is not an email address")
        return address
    scheme = urlsplit(address).scheme
    if scheme not in ("https", "http"):
        raise PreferenceInvalid(
            f"a {channel} address must be an https:// (or http://) URL, not {scheme or 'no'} scheme"
        )
    try:
        guard.check(address)
    except UnsafeDestination as error:
        # The message names the host and why; never the path, which is the secret.
        raise PreferenceInvalid(f"{redact_url(address)} is refused: {error}") from None
    return address


def add_recipient(
    *, session: Session, recipient: RecipientIn, guard: SsrfGuard, now: datetime
) -> NotificationRecipient:
    """Save a recipient after checking it (the same account, channel and address twice is refused)."""
    account = recipient.account.strip()
    if not account or len(account) > 100:
        raise PreferenceInvalid("account must be 1 to 100 characters")
    _check_severity(recipient.min_severity)
    address = check_address(recipient.channel, recipient.address, guard=guard)
    if recipient.digest and recipient.channel != "email" and not recipient.alerts:
        raise PreferenceInvalid("the daily digest goes by email only: this recipient would receive nothing")
    _check_portfolio(session, recipient.portfolio_id, account)
    twin = session.exec(
        select(NotificationRecipient).where(
            NotificationRecipient.account == account,
            NotificationRecipient.channel == recipient.channel,
            NotificationRecipient.address == address,
            NotificationRecipient.portfolio_id == recipient.portfolio_id
            if recipient.portfolio_id is not None
            else col(NotificationRecipient.portfolio_id).is_(None),
        )
    ).first()
    if twin is not None:
        raise PreferenceInvalid(f"account {account!r} already has this {recipient.channel} recipient (id {twin.id})")
    row = NotificationRecipient(
        account=account,
        portfolio_id=recipient.portfolio_id,
        channel=recipient.channel,
        address=address,
        min_severity=recipient.min_severity,
        alerts=recipient.alerts,
        digest=recipient.digest and recipient.channel == "email",
        created_at=now,
        signing_secret=new_signing_secret() if recipient.channel == "webhook" else None,
    )
    session.add(row)
    session.flush()
    return row


def new_signing_secret() -> str:
    """A webhook recipient's own signing secret (32 random bytes): a receiver that can verify one
    recipient's deliveries cannot forge, nor replay to, another's."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def list_recipients(*, session: Session, account: str | None = None) -> list[NotificationRecipient]:
    query = select(NotificationRecipient).order_by(col(NotificationRecipient.account), col(NotificationRecipient.id))
    if account is not None:
        query = query.where(NotificationRecipient.account == account)
    return list(session.exec(query))


def remove_recipient(*, session: Session, recipient_id: int) -> NotificationRecipient:
    """Delete a recipient; its outbox rows stay (they name the address redacted)."""
    row = session.get(NotificationRecipient, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no notification recipient with id {recipient_id}")
    session.delete(row)
    session.flush()
    return row


def recipient_view(row: NotificationRecipient) -> dict[str, Any]:
    """A recipient as listings show it: the URL redacted."""
    return {
        "id": row.id,
        "account": row.account,
        "portfolio_id": row.portfolio_id,
        "channel": row.channel,
        "address": redact_address(row.channel, row.address),
        "min_severity": row.min_severity,
        "alerts": row.alerts,
        "digest": row.digest,
        "active": row.active,
        "created_at": as_utc(row.created_at),
    }


# -- alert rules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleIn:
    kind: str
    params: Mapping[str, Any]
    account: str | None = None  # None: an operators' rule
    portfolio_id: int | None = None
    severity: str = "warning"
    cooldown_s: float = 3600.0


# Each kind's parameters: name -> (check, what it must be). `limit` is a fraction (0.10 is 10 %);
# when absent, the kind's default limit from the settings applies.
FRACTION = (lambda v: _number(v) and 0 < v <= 1, "a fraction above 0 and at most 1 (0.10 is 10 %)")
POSITIVE = (lambda v: _number(v) and 0 < v <= 100, "a positive fraction (0.10 is 10 %)")
PARAMETERS: dict[str, dict[str, tuple[Any, str]]] = {
    "drawdown": {"limit": FRACTION, "window_days": (lambda v: _integer(v) and 1 <= v <= 3650, "days, 1 to 3650")},
    "daily_pnl": {"limit": POSITIVE, "direction": (lambda v: v in ("both", "loss", "gain"), "both, loss or gain")},
    "position_weight": {"limit": FRACTION},
    "price_move": {"limit": POSITIVE},
    "stale_prices": {"max_age_seconds": (lambda v: _number(v) and 0 < v <= 30 * 86400, "seconds, up to 30 days")},
    "overdue_jobs": {},
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_rule_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters, if `kind` takes them and each is in range; raises PreferenceInvalid."""
    if kind not in PARAMETERS:
        raise PreferenceInvalid(f"unknown rule kind {kind!r}; kinds are {', '.join(PARAMETERS)}")
    allowed = PARAMETERS[kind]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "no parameters"
        raise PreferenceInvalid(f"{kind} does not take {', '.join(unknown)} (it takes {takes})")
    for name, value in params.items():
        check, meaning = allowed[name]
        if not check(value):
            raise PreferenceInvalid(f"{kind}.{name} must be {meaning}, not {value!r}")
    return dict(params)


def add_rule(*, session: Session, rule: RuleIn, now: datetime) -> AlertRule:
    """Save an active rule after checking it."""
    params = check_rule_params(rule.kind, rule.params)
    _check_severity(rule.severity)
    if not (_number(rule.cooldown_s) and 0 <= rule.cooldown_s <= 30 * 86400):
        raise PreferenceInvalid("cooldown must be 0 to 30 days in seconds")
    account = rule.account.strip() if rule.account is not None else None
    if account is not None and not 0 < len(account) <= 100:
        raise PreferenceInvalid("account must be 1 to 100 characters")
    if rule.portfolio_id is not None:
        _check_portfolio(session, rule.portfolio_id, account)
    row = AlertRule(
        account=account,
        portfolio_id=rule.portfolio_id,
        kind=rule.kind,
        params=params,
        severity=rule.severity,
        cooldown_s=float(rule.cooldown_s),
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_rules(*, session: Session, account: str | None = None) -> list[AlertRule]:
    query = select(AlertRule).order_by(col(AlertRule.id))
    if account is not None:
        query = query.where(AlertRule.account == account)
    return list(session.exec(query))


def set_rule_active(*, session: Session, rule_id: int, active: bool) -> AlertRule:
    """Enable or disable a rule; a disabled rule is not evaluated (the default of its kind covers
    its account again) and its firing states resolve no more until it is enabled."""
    row = _rule(session, rule_id)
    row.active = active
    session.add(row)
    session.flush()
    return row


def remove_rule(*, session: Session, rule_id: int) -> AlertRule:
    row = _rule(session, rule_id)
    session.delete(row)
    session.flush()
    return row


def rule_view(row: AlertRule) -> dict[str, Any]:
    return {
        "id": row.id,
        "account": row.account,
        "portfolio_id": row.portfolio_id,
        "kind": row.kind,
        "params": row.params,
        "severity": row.severity,
        "cooldown_s": row.cooldown_s,
        "active": row.active,
        "created_at": as_utc(row.created_at),
    }


def _rule(session: Session, rule_id: int) -> AlertRule:
    row = session.get(AlertRule, rule_id)
    if row is None:
        raise RuleNotFound(f"no alert rule with id {rule_id}")
    return row


# -- the outbox -----------------------------------------------------------------------------------------


def list_outbox(
    *, session: Session, status: str | None = None, channel: str | None = None, limit: int = 100
) -> list[Notification]:
    """Outbox rows, newest first."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise PreferenceInvalid(f"unknown status {status!r}; statuses are {', '.join(OUTBOX_STATUSES)}")
    query = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if status is not None:
        query = query.where(Notification.status == status)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return list(session.exec(query))


def outbox_view(row: Notification) -> dict[str, Any]:
    """An outbox row as listings show it: URLs redacted wherever they appear (the key names the
    recipient too), the payload left out (it can be large and holds the message itself)."""
    secrets = {row.recipient: redact_url(row.recipient)} if row.channel in URL_CHANNELS else {}
    return {
        "id": row.id,
        "key": redact_text(row.key, secrets),
        "channel": row.channel,
        "recipient": redact_address(row.channel, row.recipient),
        "subject": row.subject,
        "account": row.account,
        "status": row.status,
        "attempts": row.attempts,
        "last_response": redact_text(row.last_response, secrets),
        "created_at": as_utc(row.created_at),
        "updated_at": as_utc(row.updated_at),
        "sent_at": as_utc(row.sent_at) if row.sent_at else None,
    }


# -- shared checks --------------------------------------------------------------------------------------


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise PreferenceInvalid(f"unknown severity {severity!r}; severities are {', '.join(SEVERITIES)}")


def _check_portfolio(session: Session, portfolio_id: int | None, account: str | None) -> None:
    if portfolio_id is None:
        return
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise PortfolioNotFound(f"no portfolio with id {portfolio_id}")
    if account is not None and portfolio.account != account:
        raise PreferenceInvalid(f"portfolio {portfolio_id} belongs to another account, not {account!r}")
