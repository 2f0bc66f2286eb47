"""Fees per fill, by asset class: equities and ETFs per share with a minimum and a cap, crypto a rate of
the notional that depends on whether the fill made or took liquidity.

The cap is the last word: per-share fee, raised to the minimum, then lowered to the cap. So a fill
whose cap is below the minimum pays the cap (IBKR's fixed pricing does the same: its maximum per
order, a share of trade value, bounds the commission whatever the minimum; "1,000 shares at USD 0.25
= USD 2.50"). The result is rounded once, to money's 4 places, half to even.
"""

from __future__ import annotations

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


def fee(schedule: FeeSchedule, asset_class: str, quantity: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
    """The fee for one fill of `quantity` at `price`, in money's 4 places (zero for a zero quantity)."""
    if not quantity:
        return money(Decimal(0))
    notional = WIDE.multiply(abs(quantity), price)
    if asset_class in PER_SHARE_CLASSES:
        per_share = WIDE.multiply(abs(quantity), schedule.equity_per_share)
        cap = WIDE.multiply(notional, schedule.equity_max_share_of_notional)
        return money(min(max(per_share, schedule.equity_minimum), cap))
    if asset_class in RATE_CLASSES:
        rate = schedule.crypto_maker_rate if liquidity == Liquidity.MAKER else schedule.crypto_taker_rate
        return money(WIDE.multiply(notional, rate))
    raise ValueError(f"no fee schedule for asset class {asset_class!r}")
