"""Each portfolio's risk limits: read (defaults when none are stored) and edited by operators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from services.errors import PortfolioNotFound
from services.storage.models import Portfolio, RiskEvent, RiskLimits
from services.trading.errors import RiskLimitsInvalid

FRACTIONS = ("max_drawdown", "drawdown_sell_share", "max_position_weight", "drift_threshold")
EDITABLE = (*FRACTIONS, "max_order_value", "max_daily_loss", "target_weights", "allow_short")


def limits_of(*, session: Session, portfolio_id: int, for_update: bool = False) -> RiskLimits:
    """The portfolio's limits; a portfolio without a row has no limits and is not halted (not stored)."""
    row = session.get(RiskLimits, portfolio_id, with_for_update=for_update)
    if row is not None:
        return row
    if session.get(Portfolio, portfolio_id) is None:
        raise PortfolioNotFound(f"no portfolio {portfolio_id}")
    return RiskLimits(portfolio_id=portfolio_id, updated_at=datetime.min)


@dataclass(frozen=True)
class LimitChanges:
    """What an operator changes; fields left out keep their value, `clear` names limits to remove."""

    values: dict[str, Any]
    clear: tuple[str, ...] = ()


def set_limits(*, session: Session, portfolio_id: int, changes: LimitChanges, by: str, now: datetime) -> RiskLimits:
    """Apply `changes` to the portfolio's limits and record who changed what."""
    unknown = sorted((set(changes.values) | set(changes.clear)) - set(EDITABLE))
    if unknown:
        raise RiskLimitsInvalid(f"unknown risk limits: {', '.join(unknown)}")
    row = limits_of(session=session, portfolio_id=portfolio_id, for_update=True)
    before = _figures(row)
    for name, value in changes.values.items():
        setattr(row, name, _checked(name, value))
    for name in changes.clear:
        setattr(row, name, {} if name == "target_weights" else None)
    row.updated_at, row.updated_by = now, by
    session.add(row)
    session.add(
        RiskEvent(
            portfolio_id=portfolio_id,
            at=now,
            rule="limits",
            action="set",
            actor=by,
            reason="risk limits changed",
            figures={"before": before, "after": _figures(row)},
        )
    )
    session.flush()
    return row


def _checked(name: str, value: Any) -> Any:
    if name in FRACTIONS:
        if value is None and name in ("max_drawdown", "max_position_weight"):
            return None
        number = float(value)
        if not 0 < number <= 1:
            raise RiskLimitsInvalid(f"{name} must be a fraction in (0, 1], not {value}")
        return number
    if name in ("max_order_value", "max_daily_loss"):
        if value is None:
            return None
        amount = Decimal(str(value))
        if not amount.is_finite() or amount <= 0:
            raise RiskLimitsInvalid(f"{name} must be a positive amount, not {value}")
        return amount
    if name == "target_weights":
        weights = {str(symbol): float(weight) for symbol, weight in dict(value).items()}
        if any(not 0 <= weight <= 1 for weight in weights.values()) or sum(weights.values()) > 1 + 1e-9:
            raise RiskLimitsInvalid("target weights must be fractions that add up to at most 1")
        return weights
    if bool(value):
        # The positions replay (services/portfolio/positions.py) refuses sells of more than is held.
        raise RiskLimitsInvalid("allow_short is not supported yet: positions cannot go below zero")
    return False


def _figures(row: RiskLimits) -> dict[str, Any]:
    return {name: (str(v) if isinstance(v := getattr(row, name), Decimal) else v) for name in EDITABLE}
