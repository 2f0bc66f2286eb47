"""Alert rules, evaluated by `evaluate_alerts`: the rules in force, and the state per rule and subject
that turns what the checks find (`alert_checks`: the kinds and what they read) into raised, reminder
and resolved notices, with a cooldown.

Cooldown: after a notification, the same rule and subject stay quiet for `cooldown`: a condition
that clears and comes back within it is recorded (alerts table) but not sent again; one that holds
is reminded once per cooldown (never, with a cooldown of 0). A resolved notice goes out only when
the firing was notified.

Defaults come from the settings: drawdown, daily P&L and position weight for every account without
its own rule of the kind (to the account), price moves and stale prices for the operators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from services.notifications.alert_checks import CHECKS, KINDS, Finding, Rule, Scope
from services.notifications.alert_records import open_alert, raise_alert, resolve_alert
from services.notifications.dispatch import AlertNotice
from services.scheduling.jobs import Job
from services.settings import Settings
from services.storage.db import as_utc
from services.storage.models import AlertRule, AlertRuleState, Portfolio


@dataclass(frozen=True)
class Thresholds:
    """The default rules' limits (settings TICKWORK_ALERT_*)."""

    drawdown: float = 0.10
    daily_pnl: float = 0.05
    position_weight: float = 0.25
    price_move: float = 0.10
    cooldown_s: float = 3600.0
    price_max_age_s: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            drawdown=settings.tickwork_alert_drawdown_limit,
            daily_pnl=settings.tickwork_alert_daily_pnl_limit,
            position_weight=settings.tickwork_alert_position_weight_limit,
            price_move=settings.tickwork_alert_price_move_limit,
            cooldown_s=settings.tickwork_alert_cooldown_seconds,
            price_max_age_s=settings.tickwork_price_max_age_seconds,
        )


def rules_in_force(*, session: Session, thresholds: Thresholds) -> list[Rule]:
    """Stored active rules, plus the defaults for what they do not cover."""
    stored = list(session.exec(select(AlertRule).where(col(AlertRule.active).is_(True)).order_by(col(AlertRule.id))))
    rules = [
        Rule(
            key=f"rule:{row.id}",
            kind=row.kind,
            limit=float(row.params.get("limit", getattr(thresholds, row.kind, 0.0))),
            severity=row.severity,
            cooldown=timedelta(seconds=row.cooldown_s),
            account=row.account,
            portfolio_id=row.portfolio_id,
            params=row.params,
        )
        for row in stored
        if row.kind in KINDS
    ]
    cooldown = timedelta(seconds=thresholds.cooldown_s)
    defaults = [
        Rule("default:drawdown", "drawdown", thresholds.drawdown, "warning", cooldown, default=True),
        Rule("default:daily_pnl", "daily_pnl", thresholds.daily_pnl, "warning", cooldown, default=True),
        Rule("default:position_weight", "position_weight", thresholds.position_weight, "info", cooldown, default=True),
        Rule("default:price_move", "price_move", thresholds.price_move, "info", cooldown, default=True),
        Rule("default:stale_prices", "stale_prices", 0.0, "warning", cooldown, default=True),
    ]
    return rules + defaults


def evaluate_alert_rules(
    *,
    session: Session,
    rules: Sequence[Rule],
    now: datetime,
    price_max_age_s: float = 900.0,
    jobs: Sequence[Job] = (),
) -> list[AlertNotice]:
    """Evaluate every rule, update its state and the alert records; returns what to notify."""
    portfolios = list(session.exec(select(Portfolio).order_by(col(Portfolio.id))))
    covered: dict[str, set[str]] = defaultdict(set)  # kind -> accounts with their own rule of it
    for rule in rules:
        if not rule.default and rule.account is not None:
            covered[rule.kind].add(rule.account)
    notices: list[AlertNotice] = []
    for rule in rules:
        if rule.default:
            mine = [p for p in portfolios if p.account not in covered[rule.kind]]
        else:
            mine = [
                p
                for p in portfolios
                if (rule.account is None or p.account == rule.account)
                and (rule.portfolio_id is None or p.id == rule.portfolio_id)
            ]
        scope = Scope(mine, now, price_max_age_s, jobs)
        findings = CHECKS[rule.kind](session, rule, scope)
        notices += apply_findings(session=session, rule=rule, findings=findings, now=now)
    return notices


# -- the state machine -------------------------------------------------------------------------------


def apply_findings(*, session: Session, rule: Rule, findings: Sequence[Finding], now: datetime) -> list[AlertNotice]:
    """Raise, remind and resolve per subject, within the cooldown (see the module docstring)."""
    states = {row.subject: row for row in session.exec(select(AlertRuleState).where(AlertRuleState.rule == rule.key))}
    notices = []
    for finding in findings:
        state = states.get(finding.subject) or AlertRuleState(rule=rule.key, subject=finding.subject, updated_at=now)
        alert_key = f"{rule.key}:{finding.subject}"[:200]
        raise_alert(
            session=session,
            key=alert_key,
            kind=rule.kind,
            severity=rule.severity,
            title=finding.title[:200],
            detail=finding.detail,
            now=now,
            account=finding.account,
        )
        quiet = state.notified_at is not None and now - as_utc(state.notified_at) < rule.cooldown
        if not state.firing:
            state.firing, state.fired_at, state.resolved_at = True, now, None
            event: str | None = "raised"
        else:
            event = "reminder" if rule.cooldown > timedelta(0) else None
        if event is not None and not quiet:
            notices.append(_notice(rule, finding, event, alert_key, now))
            state.notified_at = now
        state.value, state.updated_at = finding.value[:100], now
        session.add(state)
    found = {finding.subject for finding in findings}
    for subject, state in states.items():
        if not state.firing or subject in found:
            continue
        alert_key = f"{rule.key}:{subject}"[:200]
        record = open_alert(session=session, key=alert_key)
        resolve_alert(session=session, key=alert_key, now=now)
        told = (
            state.notified_at is not None
            and state.fired_at is not None
            and as_utc(state.notified_at) >= as_utc(state.fired_at)
        )
        state.firing, state.resolved_at, state.updated_at = False, now, now
        session.add(state)
        if told and record is not None:
            notices.append(
                AlertNotice(
                    key=f"{alert_key}:resolved:{as_utc(state.fired_at or now).isoformat()}",
                    title=record.title,
                    message=f"cleared: {record.detail}",
                    severity=rule.severity,
                    account=record.account,
                    portfolio_id=_portfolio_of(subject),
                    state="resolved",
                    at=now,
                )
            )
    return notices


def _notice(rule: Rule, finding: Finding, event: str, alert_key: str, now: datetime) -> AlertNotice:
    return AlertNotice(
        key=f"{alert_key}:{event}:{now.isoformat()}",
        title=finding.title,
        message=finding.detail,
        severity=rule.severity,
        account=finding.account,
        portfolio_id=finding.portfolio_id,
        state=event,
        at=now,
    )


def _portfolio_of(subject: str) -> int | None:
    kind, _, rest = subject.partition(":")
    if kind in ("portfolio", "position"):
        return int(rest.split(":", 1)[0])
    return None
