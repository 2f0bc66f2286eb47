"""Stored alert rules, as operators manage them: each kind's parameters checked when saved, listed,
enabled, disabled, removed. (services.notifications.alert_rules evaluates them.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.errors import NotFound
from services.notifications.preferences import PreferenceInvalid, check_portfolio, check_severity
from services.storage.db import as_utc
from services.storage.models import AlertRule


class RuleNotFound(NotFound):
    """Raised when an alert rule id names no rule."""


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
    check_severity(rule.severity)
    if not (_number(rule.cooldown_s) and 0 <= rule.cooldown_s <= 30 * 86400):
        raise PreferenceInvalid("cooldown must be 0 to 30 days in seconds")
    account = rule.account.strip() if rule.account is not None else None
    if account is not None and not 0 < len(account) <= 100:
        raise PreferenceInvalid("account must be 1 to 100 characters")
    if rule.portfolio_id is not None:
        check_portfolio(session, rule.portfolio_id, account)
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
