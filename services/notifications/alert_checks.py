"""What each alert rule looks at: one function per kind finds the subjects that breach it now.

Kinds (limits are fractions: 0.10 is 10 %):
- `drawdown`: a portfolio's value this far below its peak (snapshots' total_value over `window_days`,
  365 by default, and the current valuation).
- `daily_pnl`: today's value against the last snapshot before today, net of cash flows since, as a
  fraction of that snapshot; `direction` is "both" (default), "loss" or "gain".
- `position_weight`: a position's weight (of its portfolio's total value) above the limit.
- `price_move`: an instrument's last price this far from its previous daily close (the last "1d"
  bar before today, UTC).
- `stale_prices`: instruments whose last price is older than TICKWORK_PRICE_MAX_AGE_SECONDS in
  market time (services.market_data.staleness: a closed market does not age a price); one alert for
  all of them, so a provider outage is one message, not thousands.
- `overdue_jobs`: timetable jobs that have not succeeded in time (monitor_jobs already alerts the
  operators about these every minute; a rule of this kind sends them elsewhere or with another severity).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.market_data.staleness import stale_before
from services.scheduling.jobs import Job
from services.scheduling.overdue import find_overdue
from services.storage.db import as_utc
from services.storage.models import CashFlow, DailyBar, Instrument, Portfolio, PortfolioSnapshot, Position

PORTFOLIO_KINDS = ("drawdown", "daily_pnl", "position_weight")
KINDS = (*PORTFOLIO_KINDS, "price_move", "stale_prices", "overdue_jobs")


@dataclass(frozen=True)
class Rule:
    key: str  # "rule:<id>" for a stored rule, "default:<kind>" for a default
    kind: str
    limit: float
    severity: str = "warning"
    cooldown: timedelta = timedelta(hours=1)
    account: str | None = None  # a stored rule's account; None on defaults and operators' rules
    portfolio_id: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    default: bool = False


@dataclass(frozen=True)
class Finding:
    """A subject that breaches a rule now."""

    subject: str
    title: str
    detail: str
    value: str
    account: str | None = None
    portfolio_id: int | None = None


@dataclass(frozen=True)
class Scope:
    """What a rule looks at: the portfolios (and accounts) it covers."""

    portfolios: list[Portfolio]
    now: datetime
    price_max_age_s: float
    jobs: Sequence[Job]


def _target(rule: Rule, portfolio: Portfolio | None = None) -> str | None:
    """Whom a finding goes to: the rule's account, else the portfolio's, else the operators."""
    if rule.account is not None:
        return rule.account
    return portfolio.account if portfolio is not None and rule.kind in PORTFOLIO_KINDS else None


# -- the checks -----------------------------------------------------------------------------------------


def check_drawdown(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    if not scope.portfolios:
        return []
    since = scope.now.date() - timedelta(days=int(rule.params.get("window_days", 365)))
    peaks = dict(
        session.exec(
            select(PortfolioSnapshot.portfolio_id, func.max(PortfolioSnapshot.total_value))
            .where(PortfolioSnapshot.day >= since)
            .group_by(col(PortfolioSnapshot.portfolio_id))
        ).all()
    )
    latest = _latest_snapshots(session, before=scope.now.date() + timedelta(days=1))
    findings = []
    for portfolio in scope.portfolios:
        current = _current_value(portfolio, latest.get(portfolio.id or 0))
        if current is None:
            continue
        peak = max(Decimal(peaks.get(portfolio.id or 0) or 0), current)
        if peak <= 0:
            continue
        drawdown = float(1 - current / peak)
        if drawdown >= rule.limit:
            findings.append(
                Finding(
                    subject=f"portfolio:{portfolio.id}",
                    title=f"{portfolio.name}: drawdown {drawdown:.1%}",
                    detail=(
                        f"value {current:,.2f} is {drawdown:.1%} below its peak {peak:,.2f} (limit {rule.limit:.1%})"
                    ),
                    value=f"{drawdown:.6f}",
                    account=_target(rule, portfolio),
                    portfolio_id=portfolio.id,
                )
            )
    return findings


def check_daily_pnl(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    if not scope.portfolios:
        return []
    previous = _latest_snapshots(session, before=scope.now.date())
    today = _latest_snapshots(session, before=scope.now.date() + timedelta(days=1))
    direction = rule.params.get("direction", "both")
    oldest = min((as_utc(row.taken_at) for row in previous.values()), default=scope.now)
    flows = _flows(session, since=oldest, now=scope.now)
    findings = []
    for portfolio in scope.portfolios:
        before = previous.get(portfolio.id or 0)
        todays = today.get(portfolio.id or 0)
        current = _current_value(portfolio, todays if todays is not None and todays is not before else None)
        if before is None or current is None or before.total_value <= 0:
            continue
        since = as_utc(before.taken_at)
        flow = sum((amount for at, amount in flows.get(portfolio.id or 0, []) if at > since), Decimal(0))
        pnl = current - before.total_value - flow
        change = float(pnl / before.total_value)
        breach = abs(change) >= rule.limit
        if direction == "loss":
            breach = change <= -rule.limit
        elif direction == "gain":
            breach = change >= rule.limit
        if breach:
            findings.append(
                Finding(
                    subject=f"portfolio:{portfolio.id}",
                    title=f"{portfolio.name}: daily P&L {change:+.1%}",
                    detail=(
                        f"P&L {pnl:+,.2f} ({change:+.2%}) since the {before.day} snapshot of "
                        f"{before.total_value:,.2f}, net of flows {flow:+,.2f} (limit {rule.limit:.1%})"
                    ),
                    value=f"{change:.6f}",
                    account=_target(rule, portfolio),
                    portfolio_id=portfolio.id,
                )
            )
    return findings


def check_position_weight(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    by_id = {p.id: p for p in scope.portfolios}
    if not by_id:
        return []
    query = (
        select(Position, Instrument.symbol)
        .join(Instrument, col(Instrument.id) == col(Position.instrument_id))
        .where(col(Position.weight) > rule.limit)
    )
    findings = []
    for position, symbol in session.exec(query):
        portfolio = by_id.get(position.portfolio_id)
        if portfolio is None or position.weight is None:
            continue
        findings.append(
            Finding(
                subject=f"position:{portfolio.id}:{symbol}",
                title=f"{portfolio.name}: {symbol} is {position.weight:.1%} of the portfolio",
                detail=f"{symbol} weighs {position.weight:.1%} of {portfolio.name} (limit {rule.limit:.1%})",
                value=f"{position.weight:.6f}",
                account=_target(rule, portfolio),
                portfolio_id=portfolio.id,
            )
        )
    return findings


def check_price_move(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    day_start = datetime.combine(scope.now.date(), time(0), tzinfo=UTC)
    last_ts = (
        select(DailyBar.instrument_id, func.max(DailyBar.ts).label("ts"))
        .where(DailyBar.interval == "1d", col(DailyBar.ts) < day_start)
        .group_by(col(DailyBar.instrument_id))
        .subquery()
    )
    query = (
        select(Instrument, col(DailyBar.close))
        .join(DailyBar, col(DailyBar.instrument_id) == col(Instrument.id))
        .join(last_ts, (last_ts.c.instrument_id == DailyBar.instrument_id) & (last_ts.c.ts == DailyBar.ts))
        .where(DailyBar.interval == "1d", col(Instrument.active).is_(True), col(Instrument.last_price).is_not(None))
    )
    held = _held_instruments(session, scope) if rule.account is not None else None
    findings = []
    for instrument, close in session.exec(query):
        if (held is not None and instrument.id not in held) or not close or instrument.last_price is None:
            continue
        move = float(instrument.last_price / close - 1)
        if abs(move) >= rule.limit:
            findings.append(
                Finding(
                    subject=f"instrument:{instrument.symbol}",
                    title=f"{instrument.symbol} moved {move:+.1%}",
                    detail=(
                        f"{instrument.symbol} at {instrument.last_price:,} against the previous close "
                        f"{close:,} ({move:+.2%}, limit {rule.limit:.1%})"
                    ),
                    value=f"{move:.6f}",
                    account=_target(rule),
                )
            )
    return findings


def check_stale_prices(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    max_age = float(rule.params.get("max_age_seconds", scope.price_max_age_s))
    query = select(Instrument).where(
        col(Instrument.active).is_(True),
        col(Instrument.unknown_at).is_(None),
        col(Instrument.last_price_at).is_not(None),
    )
    stale = sorted(
        instrument.symbol
        for instrument in session.exec(query)
        if instrument.last_price_at is not None
        and as_utc(instrument.last_price_at) < stale_before(instrument.asset_class, scope.now, max_age)
    )
    if not stale:
        return []
    shown = ", ".join(stale[:20]) + (f" and {len(stale) - 20} more" if len(stale) > 20 else "")
    return [
        Finding(
            subject="instruments",
            title=f"{len(stale)} stale price(s)",
            detail=f"older than {max_age:.0f} s of market time: {shown}",
            value=str(len(stale)),
            account=_target(rule),
        )
    ]


def check_overdue_jobs(session: Session, rule: Rule, scope: Scope) -> list[Finding]:
    return [
        Finding(
            subject=f"job:{item.job}",
            title=f"Job {item.job} is overdue",
            detail=(
                f"the run due {item.missed_due_at.isoformat()} has not succeeded; last success: "
                f"{item.last_success_at.isoformat() if item.last_success_at else 'never'}"
            ),
            value=item.missed_due_at.isoformat(),
            account=_target(rule),
        )
        for item in find_overdue(scope.jobs, session=session, now=scope.now)
    ]


CHECKS: dict[str, Callable[[Session, Rule, Scope], list[Finding]]] = {
    "drawdown": check_drawdown,
    "daily_pnl": check_daily_pnl,
    "position_weight": check_position_weight,
    "price_move": check_price_move,
    "stale_prices": check_stale_prices,
    "overdue_jobs": check_overdue_jobs,
}


# -- reading the data ---------------------------------------------------------------------------------


def _latest_snapshots(session: Session, *, before: Any) -> dict[int, PortfolioSnapshot]:
    """Each portfolio's newest snapshot of a day before `before`."""
    newest = (
        select(PortfolioSnapshot.portfolio_id, func.max(PortfolioSnapshot.day).label("day"))
        .where(col(PortfolioSnapshot.day) < before)
        .group_by(col(PortfolioSnapshot.portfolio_id))
        .subquery()
    )
    query = select(PortfolioSnapshot).join(
        newest,
        (newest.c.portfolio_id == PortfolioSnapshot.portfolio_id) & (newest.c.day == PortfolioSnapshot.day),
    )
    return {row.portfolio_id: row for row in session.exec(query)}


def _current_value(portfolio: Portfolio, snapshot: PortfolioSnapshot | None) -> Decimal | None:
    """The current valuation when there is one, else the given snapshot's."""
    if portfolio.valued_at is not None:
        return Decimal(portfolio.total_value)
    return Decimal(snapshot.total_value) if snapshot is not None else None


def _flows(session: Session, *, since: datetime, now: datetime) -> dict[int, list[tuple[datetime, Decimal]]]:
    """Cash flows after `since`, per portfolio (one query for every portfolio)."""
    found: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    query = select(CashFlow).where(col(CashFlow.at) > since, col(CashFlow.at) <= now)
    for flow in session.exec(query):
        found[flow.portfolio_id].append((as_utc(flow.at), Decimal(flow.amount)))
    return found


def _held_instruments(session: Session, scope: Scope) -> set[int]:
    ids = [p.id for p in scope.portfolios]
    if not ids:
        return set()
    return set(session.exec(select(Position.instrument_id).where(col(Position.portfolio_id).in_(ids))))
