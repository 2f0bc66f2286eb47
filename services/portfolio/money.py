"""Decimal conventions for money and prices: money carries 4 places, prices 10, rounded half to even."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

MONEY_QUANTUM = Decimal("0.0001")
PRICE_QUANTUM = Decimal("0.0000000001")
ZERO = Decimal(0)
# Products are rounded once, at their quantum, not first to the default 28 significant digits.
WIDE = Context(prec=60, rounding=ROUND_HALF_EVEN)


def money(value: Decimal) -> Decimal:
    """An amount rounded to the 4 places money is stored with, half to even."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def price(value: Decimal) -> Decimal:
    """A price (or an average cost) rounded to the 10 places prices are stored with, half to even."""
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
