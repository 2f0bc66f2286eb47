"""Fees by asset class: equities and ETFs per share with a minimum and a cap, crypto a rate of the
notional that depends on whether the fill made or took liquidity.

The cap is the last word: per-share fee, raised to the minimum, then lowered to the cap. So a fill
whose cap is below the minimum pays the cap: a maximum the minimum could exceed would be no maximum.
IBKR's fixed pricing states the same two bounds per order (minimum USD 1.00, maximum 1 % of trade
value; "1,000 shares at USD 0.25 = USD 2.50"). The result is rounded once, to money's 4 places, half
to even.

`fee` prices one fill on its own. `order_fee_increment` prices a fill as part of its order, so the
minimum and the cap apply once per order however many partial fills it takes (IBKR's minimum is "per
order"); the increments of an order's fills add up to the fee of the whole order, and are never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.portfolio.money import WIDE, money
from services.trading.model import Liquidity

PER_SHARE_CLASSES = frozenset({"equity", "etf"})
RATE_CLASSES = frozenset({"crypto"})


@dataclass(frozen=True)
class FeeSchedule:
    """What a fill costs. Rates and shares are fractions: 0.005 of notional is 0.5 %."""

    equity_per_share: Decimal = Decimal("0.005")
    equity_minimum: Decimal = Decimal("1")
    equity_max_share_of_notional: Decimal = Decimal("0.005")
    crypto_maker_rate: Decimal = Decimal("0.001")
    crypto_taker_rate: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value.is_finite() or value < 0:
                raise ValueError(f"fee schedule {name} must be a finite, non-negative Decimal, not {value}")


DEFAULT_FEES = FeeSchedule()


@dataclass(frozen=True)
class Execution:
    """One fill of an order, as the fee needs it."""

    quantity: Decimal
    price: Decimal
    liquidity: Liquidity


def order_fee(schedule: FeeSchedule, asset_class: str, executions: Sequence[Execution]) -> Decimal:
    """The fee of an order filled by `executions`, the minimum and cap applied to the order as a whole."""
    if not executions:
        return money(Decimal(0))
    if asset_class in PER_SHARE_CLASSES:
        quantity = sum((abs(e.quantity) for e in executions), Decimal(0))
        notional = sum((WIDE.multiply(abs(e.quantity), e.price) for e in executions), Decimal(0))
        if not quantity:
            return money(Decimal(0))
        per_share = WIDE.multiply(quantity, schedule.equity_per_share)
        cap = WIDE.multiply(notional, schedule.equity_max_share_of_notional)
        return money(min(max(per_share, schedule.equity_minimum), cap))
    if asset_class in RATE_CLASSES:
        total = Decimal(0)
        for e in executions:
            rate = schedule.crypto_maker_rate if e.liquidity == Liquidity.MAKER else schedule.crypto_taker_rate
            total = WIDE.add(total, WIDE.multiply(WIDE.multiply(abs(e.quantity), e.price), rate))
        return money(total)
    raise ValueError(f"no fee schedule for asset class {asset_class!r}")


def order_fee_increment(
    schedule: FeeSchedule, asset_class: str, earlier: Sequence[Execution], fill: Execution
) -> Decimal:
    """The fee to charge for `fill`, given the order's `earlier` fills: what it adds to the order's fee."""
    return order_fee(schedule, asset_class, [*earlier, fill]) - order_fee(schedule, asset_class, earlier)


def fee(schedule: FeeSchedule, asset_class: str, quantity: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
    """The fee for one fill of `quantity` at `price` on its own, in money's 4 places (zero for nothing)."""
    return order_fee(schedule, asset_class, [Execution(quantity, price, liquidity)])
