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
from typing import NamedTuple

from services.market_data.staleness import stale_before
from services.portfolio.money import MONEY_QUANTUM, WIDE, ZERO, money


# Tuples, not dataclasses: a full revaluation builds 200,000 of each, and a tuple is built 4x faster.
class Holding(NamedTuple):
    """A position and the last price known for its instrument (None when it never had one)."""

    position_id: int
    instrument_id: int
    asset_class: str
    quantity: Decimal
    average_cost: Decimal
    price: Decimal | None
    price_at: datetime | None


class PositionValue(NamedTuple):
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
    cutoffs: dict[str, datetime] = {}
    with localcontext(WIDE):  # quantize() below rounds with WIDE's ROUND_HALF_EVEN
        for holding in holdings:
            cost = (holding.quantity * holding.average_cost).quantize(MONEY_QUANTUM)
            if holding.price is None or holding.price_at is None:
                unpriced.append((holding, cost))
                continue
            cutoff = cutoffs.get(holding.asset_class)
            if cutoff is None:
                cutoff = cutoffs[holding.asset_class] = stale_before(holding.asset_class, now, max_age_seconds)
            value = (holding.quantity * holding.price).quantize(MONEY_QUANTUM)
            priced.append((holding, cost, value, holding.price_at < cutoff))
        market_value = sum([value for _, _, value, _ in priced], ZERO)
        total_value = money(cash) + market_value
        positive = total_value > 0
        positions = [
            PositionValue(
                h.position_id,
                h.instrument_id,
                h.price,
                h.price_at,
                stale,
                value,
                value - cost,
                cost,
                float(value / total_value) if positive else None,
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
            cost_basis=sum([p.cost for p in positions], ZERO),
            unrealized_pnl=sum([value - cost for _, cost, value, _ in priced], ZERO),
            stale_positions=sum(1 for *_, stale in priced if stale),
            unpriced_positions=len(unpriced),
            positions=positions,
        )
