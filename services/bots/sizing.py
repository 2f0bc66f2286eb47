"""Position sizing and the instrument's trading rules, as pure Decimal arithmetic.

Sizing turns a bot's capital and its rule into a quantity at a price:
    fixed_notional   value units of money              quantity = value / price
    equity_share     value a fraction of equity        quantity = equity * value / price
    risk_per_trade   value a fraction of equity risked quantity = equity * value / (price * stop_loss)
(the stop distance is the stop-loss percentage of the entry price; a fraction is 0.02 for 2 %).

Normalising then applies the instrument's rules as an exchange does (Binance's LOT_SIZE, NOTIONAL and
PRICE_FILTER): the quantity is rounded *down* to the lot step (never buy more than sized), and refused
below the minimum quantity or minimum notional; prices are rounded to the tick size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from services.errors import NonRetryableError

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class SizingInvalid(NonRetryableError):
    """Raised when a bot's sizing cannot give a quantity (an unknown mode, a non-positive value, no stop)."""


class SizingMode(StrEnum):
    FIXED_NOTIONAL = "fixed_notional"
    EQUITY_SHARE = "equity_share"
    RISK_PER_TRADE = "risk_per_trade"


@dataclass(frozen=True)
class InstrumentRules:
    """What an order for the instrument must respect; None: no such rule."""

    lot_step: Decimal | None = None  # quantities are multiples of it (LOT_SIZE stepSize)
    min_quantity: Decimal | None = None  # LOT_SIZE minQty
    min_notional: Decimal | None = None  # NOTIONAL / MIN_NOTIONAL minNotional
    tick_size: Decimal | None = None  # PRICE_FILTER tickSize


# Without reference data: whole shares for equities and ETFs, satoshi-like steps for crypto.
DEFAULT_RULES = {
    "equity": InstrumentRules(lot_step=Decimal(1), min_quantity=Decimal(1)),
    "etf": InstrumentRules(lot_step=Decimal(1), min_quantity=Decimal(1)),
    "crypto": InstrumentRules(lot_step=Decimal("0.00000001")),
}


@dataclass(frozen=True)
class Sized:
    """A normalised quantity, or why there is none."""

    quantity: Decimal
    refused: str | None = None  # below_min_quantity | below_min_notional | zero_quantity


def size_position(
    *,
    mode: str,
    value: Decimal,
    equity: Decimal,
    price: Decimal,
    stop_loss_pct: Decimal | None = None,
) -> Decimal:
    """The quantity the bot's sizing rule asks for at `price`, before the instrument's rules."""
    if price <= 0:
        raise SizingInvalid(f"cannot size at a price of {price}")
    if value <= 0:
        raise SizingInvalid(f"sizing value must be positive, not {value}")
    try:
        sizing = SizingMode(mode)
    except ValueError:
        raise SizingInvalid(f"unknown sizing mode {mode!r}; one of {[m.value for m in SizingMode]}") from None
    if sizing == SizingMode.FIXED_NOTIONAL:
        return value / price
    if sizing == SizingMode.EQUITY_SHARE:
        return max(equity, ZERO) * value / price
    if not stop_loss_pct or stop_loss_pct <= 0:
        raise SizingInvalid("risk_per_trade sizing needs a positive stop_loss_pct")
    return max(equity, ZERO) * value / (price * stop_loss_pct / HUNDRED)


def normalise_quantity(quantity: Decimal, price: Decimal, rules: InstrumentRules) -> Sized:
    """Round down to the lot step, then refuse what is under the minimum quantity or notional."""
    if rules.lot_step:
        quantity = (quantity / rules.lot_step).to_integral_value(ROUND_DOWN) * rules.lot_step
    if quantity <= 0:
        return Sized(ZERO, "zero_quantity")
    if rules.min_quantity is not None and quantity < rules.min_quantity:
        return Sized(quantity, "below_min_quantity")
    if rules.min_notional is not None and quantity * price < rules.min_notional:
        return Sized(quantity, "below_min_notional")
    return Sized(quantity.normalize() if quantity == quantity.to_integral_value() else quantity)


def round_price(price: Decimal, rules: InstrumentRules) -> Decimal:
    """To the nearest tick (half to even); unchanged without a tick size."""
    if not rules.tick_size:
        return price
    return (price / rules.tick_size).to_integral_value(ROUND_HALF_EVEN) * rules.tick_size


def bracket_prices(
    entry: Decimal, rules: InstrumentRules, stop_loss_pct: Decimal | None, take_profit_pct: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """(stop-loss, take-profit) of a long entry at `entry`, on the tick grid."""
    stop = round_price(entry * (1 - stop_loss_pct / HUNDRED), rules) if stop_loss_pct else None
    target = round_price(entry * (1 + take_profit_pct / HUNDRED), rules) if take_profit_pct else None
    return stop, target
