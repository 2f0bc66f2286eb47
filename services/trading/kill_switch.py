"""Halting trading: one portfolio (the risk manager or an operator) or all of it (the kill switch).

A halt stops new orders only: placing refuses them with `trading_halted`. Working orders keep working
unless whoever halts also cancels them (the risk manager does on a drawdown breach). Every halt and
resume is a risk event naming who and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from services.storage.models import RiskEvent, RiskLimits, TradingSwitch
from services.trading.limits import limits_of

SWITCH_ID = 1


def halted_reason(*, session: Session, portfolio_id: int) -> str | None:
    """Why new orders of `portfolio_id` are refused now, or None when it may trade."""
    switch = session.get(TradingSwitch, SWITCH_ID)
    if switch is not None and switch.halted:
        return f"all trading halted by {switch.by}: {switch.reason}"
    limits = limits_of(session=session, portfolio_id=portfolio_id)
    if limits.halted:
        return f"portfolio halted by {limits.halted_by}: {limits.halted_reason}"
    return None


def halt_portfolio(
    *, session: Session, portfolio_id: int, by: str, reason: str, now: datetime, rule: str = "halt"
) -> bool:
    """Halt the portfolio's new orders; False when it already was (the first reason stays)."""
    limits = limits_of(session=session, portfolio_id=portfolio_id, for_update=True)
    if limits.halted:
        return False
    limits.halted, limits.halted_by, limits.halted_reason, limits.halted_at = True, by, reason[:500], now
    if limits.updated_at == datetime.min:  # not stored yet
        limits.updated_at, limits.updated_by = now, by
    session.add(limits)
    session.add(RiskEvent(portfolio_id=portfolio_id, at=now, rule=rule, action="halt", actor=by, reason=reason[:500]))
    session.flush()
    return True


def resume_portfolio(*, session: Session, portfolio_id: int, by: str, reason: str, now: datetime) -> bool:
    """Let the portfolio place orders again; False when it was not halted."""
    limits = limits_of(session=session, portfolio_id=portfolio_id, for_update=True)
    if not limits.halted:
        return False
    figures = {"halted_by": limits.halted_by, "halted_reason": limits.halted_reason}
    limits.halted, limits.halted_by, limits.halted_reason, limits.halted_at = False, None, None, None
    session.add(limits)
    session.add(
        RiskEvent(
            portfolio_id=portfolio_id,
            at=now,
            rule="halt",
            action="resume",
            actor=by,
            reason=reason[:500],
            figures=figures,
        )
    )
    session.flush()
    return True


def set_kill_switch(*, session: Session, halted: bool, by: str, reason: str, now: datetime) -> TradingSwitch:
    """Halt (or let resume) all trading at once; recorded as a risk event of no one portfolio."""
    switch = session.get(TradingSwitch, SWITCH_ID, with_for_update=True) or TradingSwitch(id=SWITCH_ID)
    changed = switch.halted != halted
    switch.halted, switch.by, switch.reason, switch.at = halted, by, reason[:500], now
    session.add(switch)
    if changed:
        action = "halt" if halted else "resume"
        session.add(
            RiskEvent(portfolio_id=None, at=now, rule="kill_switch", action=action, actor=by, reason=reason[:500])
        )
    session.flush()
    return switch


def kill_switch(*, session: Session) -> TradingSwitch:
    """The switch as it stands (off when never set)."""
    return session.get(TradingSwitch, SWITCH_ID) or TradingSwitch(id=SWITCH_ID)


def halted_portfolios(*, session: Session) -> dict[int, RiskLimits]:
    """Every halted portfolio's limits (who halted it, why, when), by portfolio id."""
    rows = session.exec(select(RiskLimits).where(col(RiskLimits.halted)))
    return {row.portfolio_id: row for row in rows}
