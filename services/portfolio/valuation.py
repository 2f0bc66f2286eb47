"""Valuing one portfolio from its holdings, the prices we hold and its cash: pure, no I/O.

Money is Decimal, quantized to 4 places with ROUND_HALF_EVEN at the position, and portfolio totals
are the sums of the quantized position figures (so the rows add up to the summary exactly).
A stale price is still used, and flagged; a position without any price is counted as unpriced and
left out of market value and unrealized P&L (its cost stays in the cost basis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from services.market_data.staleness import stale_before
from services.portfolio.money import WIDE, ZERO, money


@dataclass(frozen=True, slots=True)
class Holding:
    """A position and the last price known for its instrument (None when it never had one)."""

    position_id: int
    instrument_id: int
    asset_class: str
    quantity: Decimal
    average_cost: Decimal
    price: Decimal | None
    price_at: datetime | None


@dataclass(frozen=True, slots=True)
class PositionValue:
    position_id: int
    instrument_id: int
    price: Decimal | None
    price_at: datetime | None
    stale: bool
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    cost: Decimal
    weight: float | None  # of the total value, cash included; None when the total is not positive


@dataclass(frozen=True, slots=True)
class PortfolioValue:
    cash: Decimal
    market_value: Decimal
    total_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    stale_positions: int
    unpriced_positions: int
    positions: list[PositionValue]


def value_portfolio(
    holdings: Sequence[Holding], *, cash: Decimal, now: datetime, max_age_seconds: float
) -> PortfolioValue:
    """Market value, unrealized P&L, weight and staleness of each holding, and the account summary."""
    priced: list[tuple[Holding, Decimal, Decimal, bool]] = []  # holding, cost, market value, stale
    unpriced: list[tuple[Holding, Decimal]] = []
    with localcontext(WIDE):
        for holding in holdings:
            cost = money(holding.quantity * holding.average_cost)
            if holding.price is None or holding.price_at is None:
                unpriced.append((holding, cost))
                continue
            value = money(holding.quantity * holding.price)
            stale = holding.price_at < stale_before(holding.asset_class, now, max_age_seconds)
            priced.append((holding, cost, value, stale))
        market_value = sum((value for _, _, value, _ in priced), ZERO)
        total_value = money(cash) + market_value
        positions = [
            PositionValue(
                position_id=h.position_id,
                instrument_id=h.instrument_id,
                price=h.price,
                price_at=h.price_at,
                stale=stale,
                market_value=value,
                unrealized_pnl=value - cost,
                cost=cost,
                weight=float(value / total_value) if total_value > 0 else None,
            )
            for h, cost, value, stale in priced
        ]
        positions += [
            PositionValue(h.position_id, h.instrument_id, None, None, False, None, None, cost, None)
            for h, cost in unpriced
        ]
        return PortfolioValue(
            cash=money(cash),
            market_value=market_value,
            total_value=total_value,
            cost_basis=sum((p.cost for p in positions), ZERO),
            unrealized_pnl=sum((value - cost for _, cost, value, _ in priced), ZERO),
            stale_positions=sum(1 for *_, stale in priced if stale),
            unpriced_positions=len(unpriced),
            positions=positions,
        )
