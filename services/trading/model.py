"""The vocabulary of paper trading, as values: what an order asks for, how far it has got, what the
market did, and why an order is refused.

An order's terms never change once placed (`OrderTerms`); everything that changes while it works is in
`OrderProgress`, replaced (never mutated) by each evaluation. Decimal end to end: prices carry 10
places and quantities 10 (services/storage/models.py), money 4 (services/portfolio/money.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Asset classes an order may be placed for (Instrument.asset_class); fx and index are priced, not traded.
TRADABLE_ASSET_CLASSES = frozenset({"equity", "etf", "crypto"})
# Only these may be bought in fractions; equities and ETFs trade in whole shares, as the issue has it.
FRACTIONAL_ASSET_CLASSES = frozenset({"crypto"})


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderState(StrEnum):
    NEW = "new"
    WORKING = "working"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


FINAL_STATES = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED})


class Liquidity(StrEnum):
    MAKER = "maker"  # the order rested on the book and the market came to it
    TAKER = "taker"  # the order took the price the market offered when it was evaluated


class Rejection(StrEnum):
    """Why an order is refused when placed: one place for every reason code."""

    # The order's shape (validate_terms).
    ASSET_CLASS_NOT_TRADABLE = "asset_class_not_tradable"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    FRACTIONAL_QUANTITY = "fractional_quantity"
    LIMIT_PRICE_MISSING = "limit_price_missing"
    LIMIT_PRICE_NOT_POSITIVE = "limit_price_not_positive"
    LIMIT_PRICE_NOT_ALLOWED = "limit_price_not_allowed"
    STOP_PRICE_MISSING = "stop_price_missing"
    STOP_PRICE_NOT_POSITIVE = "stop_price_not_positive"
    STOP_PRICE_NOT_ALLOWED = "stop_price_not_allowed"
    TRAIL_MISSING = "trail_missing"
    TRAIL_BOTH_GIVEN = "trail_both_given"
    TRAIL_NOT_POSITIVE = "trail_not_positive"
    TRAIL_PERCENT_TOO_LARGE = "trail_percent_too_large"
    TRAIL_NOT_ALLOWED = "trail_not_allowed"
    TIME_IN_FORCE_NOT_ALLOWED = "time_in_force_not_allowed"
    EXTENDED_HOURS_NOT_ALLOWED = "extended_hours_not_allowed"
    # A bracket's shape (brackets.validate_bracket).
    BRACKET_TIME_IN_FORCE_NOT_ALLOWED = "bracket_time_in_force_not_allowed"
    BRACKET_LEGS_NOT_ALLOWED = "bracket_legs_not_allowed"
    BRACKET_PRICES_INVERTED = "bracket_prices_inverted"
    # Pre-trade checks against the portfolio and the instrument (the placing use case).
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    INACTIVE_INSTRUMENT = "inactive_instrument"
    INSUFFICIENT_CASH = "insufficient_cash"
    INSUFFICIENT_POSITION = "insufficient_position"
    OVER_MAX_ORDER_VALUE = "over_max_order_value"
    TRADING_HALTED = "trading_halted"


@dataclass(frozen=True)
class OrderTerms:
    """What an order asks for; fixed once the order is placed."""

    side: Side
    type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None  # in price units
    trail_percent: Decimal | None = None  # 5 means 5 %
    time_in_force: TimeInForce = TimeInForce.DAY
    extended_hours: bool = False
    asset_class: str = "equity"


@dataclass(frozen=True)
class OrderProgress:
    """The state of a working order, as values: each evaluation returns a new one."""

    filled_quantity: Decimal = ZERO
    triggered: bool = False  # a stop, stop-limit or trailing stop that triggered stays triggered
    water_mark: Decimal | None = None  # trailing stop: highest last for a sell, lowest for a buy
    rested: bool = False  # an evaluation has left it working: a later fill of a limit makes liquidity

    def remaining(self, terms: OrderTerms) -> Decimal:
        return terms.quantity - self.filled_quantity


@dataclass(frozen=True)
class Quote:
    """A price update: the last trade, with bid/ask and the volume traded since the previous quote
    when the provider gives them."""

    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    volume: Decimal | None
    at: datetime


@dataclass(frozen=True)
class Bar:
    """An OHLCV bar that arrived while the order was working (after downtime, or across a gap open).
    `volume` is None when the provider gives none."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None
    start: datetime
    end: datetime


MarketEvent = Quote | Bar

_USES_LIMIT = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_USES_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_IMMEDIATE_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT})  # the only types IOC and FOK apply to


def validate_terms(terms: OrderTerms) -> Rejection | None:
    """The reason an order of this shape is refused, or None. Checks run in the order written here, so
    an order with several faults always gets the same (first) reason."""
    if terms.asset_class not in TRADABLE_ASSET_CLASSES:
        return Rejection.ASSET_CLASS_NOT_TRADABLE
    if not _positive(terms.quantity):
        return Rejection.NON_POSITIVE_QUANTITY
    if terms.asset_class not in FRACTIONAL_ASSET_CLASSES and terms.quantity != terms.quantity.to_integral_value():
        return Rejection.FRACTIONAL_QUANTITY
    if terms.type in _USES_LIMIT:
        if terms.limit_price is None:
            return Rejection.LIMIT_PRICE_MISSING
        if not _positive(terms.limit_price):
            return Rejection.LIMIT_PRICE_NOT_POSITIVE
    elif terms.limit_price is not None:
        return Rejection.LIMIT_PRICE_NOT_ALLOWED
    if terms.type in _USES_STOP:
        if terms.stop_price is None:
            return Rejection.STOP_PRICE_MISSING
        if not _positive(terms.stop_price):
            return Rejection.STOP_PRICE_NOT_POSITIVE
    elif terms.stop_price is not None:
        return Rejection.STOP_PRICE_NOT_ALLOWED
    trail_reason = _trail_rejection(terms)
    if trail_reason:
        return trail_reason
    if terms.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and terms.type not in _IMMEDIATE_TYPES:
        return Rejection.TIME_IN_FORCE_NOT_ALLOWED
    if terms.extended_hours and (terms.type != OrderType.LIMIT or terms.time_in_force != TimeInForce.DAY):
        return Rejection.EXTENDED_HOURS_NOT_ALLOWED
    return None


def _trail_rejection(terms: OrderTerms) -> Rejection | None:
    given = [trail for trail in (terms.trail_amount, terms.trail_percent) if trail is not None]
    if terms.type != OrderType.TRAILING_STOP:
        return Rejection.TRAIL_NOT_ALLOWED if given else None
    if not given:
        return Rejection.TRAIL_MISSING
    if len(given) == 2:
        return Rejection.TRAIL_BOTH_GIVEN
    if not _positive(given[0]):
        return Rejection.TRAIL_NOT_POSITIVE
    # A sell trailing by 100 % or more would have its stop at or below zero: it could never trigger.
    if terms.trail_percent is not None and terms.trail_percent >= HUNDRED:
        return Rejection.TRAIL_PERCENT_TOO_LARGE
    return None


def _positive(value: Decimal) -> bool:
    # NaN and infinities are refused too (a NaN cannot even be compared without an InvalidOperation).
    return value.is_finite() and value > ZERO
