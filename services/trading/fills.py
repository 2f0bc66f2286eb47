"""The fill engine: what one market event does to one working order, as a pure function.

`evaluate` never fills more than the order's remaining quantity, never fills at a price the event did
not reach, and never lets a stop that triggered forget it or a trailing stop's mark move back. Each
result names the rule that applied; every name is a row of the table in docs/trading.md, and a unit
test keeps the two equal. Where a bar cannot tell the order of its high and low, the rule assumes the
order that fills later or not at all (Lean's choice; backtrader assumes an order from open vs close).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from services.portfolio.money import WIDE, price
from services.trading.model import (
    FRACTIONAL_ASSET_CLASSES,
    HUNDRED,
    ZERO,
    Bar,
    Liquidity,
    MarketEvent,
    OrderProgress,
    OrderState,
    OrderTerms,
    OrderType,
    Quote,
    Side,
    TimeInForce,
)

NO_FILL = "no_fill"
STALE_EVENT = "stale_event"
# Quantities are stored with 10 places (services/storage/models.py): the finest step a fill can have.
QUANTITY_QUANTUM = Decimal("0.0000000001")
WHOLE = Decimal(1)

_SIDES = ("buy", "sell")
RULES = frozenset(
    {NO_FILL, STALE_EVENT}
    | {f"tick.{side}_{kind}" for side in _SIDES for kind in OrderType}
    | {f"bar.{side}_market" for side in _SIDES}
    | {f"bar.{side}_limit.{case}" for side in _SIDES for case in ("gap_open", "at_limit")}
    | {
        f"bar.{side}_{kind}.{case}"
        for side in _SIDES
        for kind in ("stop", "trailing_stop")
        for case in ("gap_open", "at_stop", "triggered")
    }
    | {
        f"bar.{side}_stop_limit.{case}"
        for side in _SIDES
        for case in ("gap_open", "at_limit", "at_stop", "through_limit")
    }
)


class CancelReason:
    IOC_REST = "ioc_rest"  # an immediate-or-cancel order's unfilled rest
    FOK_NOT_FILLABLE = "fok_not_fillable"  # a fill-or-kill order that could not fill whole


@dataclass(frozen=True)
class Evaluation:
    """What one event did to one order: the fill (if any), and the order's progress after it."""

    fill_quantity: Decimal
    fill_price: Decimal | None
    liquidity: Liquidity
    progress: OrderProgress
    done: bool  # fully filled now
    cancel_rest: bool  # IOC / FOK: the unfilled rest is cancelled now
    rule: str  # a row of docs/trading.md's fill table
    at: datetime  # when the fill happened, as far as the event tells: the quote's time, a bar's start or end
    cancel_reason: str | None = None

    @property
    def state(self) -> OrderState:
        """The order's state after this evaluation."""
        if self.done:
            return OrderState.FILLED
        if self.cancel_rest:
            return OrderState.CANCELLED
        return OrderState.PARTIALLY_FILLED if self.progress.filled_quantity > ZERO else OrderState.WORKING


@dataclass(frozen=True)
class _Match:
    """What the price rules decided, before the quantity rules."""

    price: Decimal | None
    rule: str
    triggered: bool
    water_mark: Decimal | None
    at: datetime


def evaluate(
    terms: OrderTerms,
    progress: OrderProgress,
    event: MarketEvent,
    *,
    participation: Decimal,
    quantity_step: Decimal | None = None,
    placed_at: datetime | None = None,
) -> Evaluation:
    """Apply one quote or bar to a working order. The caller checks beforehand that the order may fill
    at the event's time (time_in_force.can_fill_at) and has not expired. With `placed_at`, an event from
    before the order existed (a quote older than it, a bar that started before it) changes nothing."""
    if not participation.is_finite() or participation <= ZERO:
        raise ValueError(f"participation must be a positive share of volume, not {participation}")
    if quantity_step is not None and (not quantity_step.is_finite() or quantity_step <= ZERO):
        raise ValueError(f"quantity_step must be positive, not {quantity_step}")
    remaining = progress.remaining(terms)
    if remaining <= ZERO:
        raise ValueError("the order has nothing left to fill")
    if placed_at is not None and _before(event, placed_at):
        return Evaluation(ZERO, None, Liquidity.TAKER, progress, False, False, STALE_EVENT, _event_time(event))
    match = _match_quote(terms, progress, event) if isinstance(event, Quote) else _match_bar(terms, progress, event)
    quantity = ZERO
    if match.price is not None:
        step = quantity_step or (QUANTITY_QUANTUM if terms.asset_class in FRACTIONAL_ASSET_CLASSES else WHOLE)
        quantity = _fill_quantity(remaining, _volume_cap(event, participation), step)
    cancel_reason = None
    if terms.time_in_force == TimeInForce.FOK and quantity < remaining:
        quantity, cancel_reason = ZERO, CancelReason.FOK_NOT_FILLABLE
    elif terms.time_in_force == TimeInForce.IOC and quantity < remaining:
        cancel_reason = CancelReason.IOC_REST
    filled = progress.filled_quantity + quantity
    done = filled == terms.quantity
    # A limit order that was already resting when the market came to it provided liquidity.
    maker = terms.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and progress.rested
    return Evaluation(
        fill_quantity=quantity,
        fill_price=match.price if quantity else None,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        progress=replace(
            progress,
            filled_quantity=filled,
            triggered=match.triggered,
            water_mark=match.water_mark,
            rested=progress.rested or not done,
        ),
        done=done,
        cancel_rest=cancel_reason is not None,
        rule=match.rule if quantity else NO_FILL,
        at=match.at,
        cancel_reason=cancel_reason,
    )


# -- ticks ------------------------------------------------------------------------------------------


def _match_quote(terms: OrderTerms, progress: OrderProgress, quote: Quote) -> _Match:
    buy = terms.side == Side.BUY
    rule = f"tick.{terms.side}_{terms.type}"
    # The price this order trades at now: a buy takes the ask, a sell the bid, either the last without them.
    market = quote.ask if buy else quote.bid
    market = quote.last if market is None else market
    triggered, mark = progress.triggered, progress.water_mark
    fills = False
    if terms.type == OrderType.MARKET:
        fills = True
    elif terms.type == OrderType.LIMIT:
        fills = _within(buy, market, _required(terms.limit_price))
    elif terms.type == OrderType.STOP:
        triggered = triggered or _crossed(buy, quote.last, _required(terms.stop_price))
        fills = triggered
    elif terms.type == OrderType.STOP_LIMIT:
        triggered = triggered or _crossed(buy, quote.last, _required(terms.stop_price))
        fills = triggered and _within(buy, market, _required(terms.limit_price))
    elif not triggered:  # trailing stop: ratchet with the last, then trigger on it
        mark = _ratchet(buy, mark, quote.last)
        triggered = _crossed(buy, quote.last, trailing_stop_price(terms, mark))
        fills = triggered
    else:
        fills = True
    return _Match(market if fills else None, rule, triggered, mark, quote.at)


# -- bars -------------------------------------------------------------------------------------------


def _match_bar(terms: OrderTerms, progress: OrderProgress, bar: Bar) -> _Match:
    buy = terms.side == Side.BUY
    prefix = f"bar.{terms.side}_{terms.type}"
    triggered, mark = progress.triggered, progress.water_mark
    if terms.type == OrderType.MARKET:
        return _Match(bar.open, prefix, triggered, mark, bar.start)
    if terms.type == OrderType.LIMIT:
        return _bar_limit(buy, bar, _required(terms.limit_price), prefix, triggered, mark)
    if terms.type == OrderType.STOP:
        if triggered:  # triggered by an earlier event and partly filled: the rest is a market order
            return _Match(bar.open, f"{prefix}.triggered", True, mark, bar.start)
        return _bar_stop(buy, bar, _required(terms.stop_price), prefix, mark)
    if terms.type == OrderType.STOP_LIMIT:
        return _bar_stop_limit(buy, bar, terms, prefix, triggered)
    if triggered:
        return _Match(bar.open, f"{prefix}.triggered", True, mark, bar.start)
    # Trailing stop: the open is the bar's first price, so the mark may follow it before the check; the
    # high (sell) or low (buy) may have come after the other extreme, so it moves the mark only after
    # the check (Lean, FillModel.TrailingStopFill).
    mark = _ratchet(buy, mark, bar.open)
    match = _bar_stop(buy, bar, trailing_stop_price(terms, mark), prefix, mark)
    if match.price is None:
        match = replace(match, water_mark=_ratchet(buy, mark, bar.high if not buy else bar.low))
    return match


def _bar_limit(buy: bool, bar: Bar, limit: Decimal, prefix: str, triggered: bool, mark: Decimal | None) -> _Match:
    # backtrader BackBroker._try_exec_limit: an open already through the limit fills at the open.
    if _within(buy, bar.open, limit):
        return _Match(bar.open, f"{prefix}.gap_open", triggered, mark, bar.start)
    if _within(buy, bar.low if buy else bar.high, limit):
        return _Match(limit, f"{prefix}.at_limit", triggered, mark, bar.end)
    return _Match(None, NO_FILL, triggered, mark, bar.end)


def _bar_stop(buy: bool, bar: Bar, stop: Decimal, prefix: str, mark: Decimal | None) -> _Match:
    # backtrader BackBroker._try_exec_stop: a gap through the stop fills at the open, else at the stop.
    if _crossed(buy, bar.open, stop):
        return _Match(bar.open, f"{prefix}.gap_open", True, mark, bar.start)
    if _crossed(buy, bar.high if buy else bar.low, stop):
        return _Match(stop, f"{prefix}.at_stop", True, mark, bar.end)
    return _Match(None, NO_FILL, False, mark, bar.end)


def _bar_stop_limit(buy: bool, bar: Bar, terms: OrderTerms, prefix: str, triggered: bool) -> _Match:
    stop, limit = _required(terms.stop_price), _required(terms.limit_price)
    if triggered or _crossed(buy, bar.open, stop):
        # Triggered before the bar or at its open: every price of the bar came after the trigger.
        return _bar_limit(buy, bar, limit, prefix, True, None)
    if not _crossed(buy, bar.high if buy else bar.low, stop):
        return _Match(None, NO_FILL, False, None, bar.end)
    # Triggered inside the bar, at the stop. The only prices known to come after it are the stop itself
    # and the close: the limit fills at the stop when the stop is within it, or at the limit when the
    # close lies beyond the limit (the price went from the stop to the close through the limit). A low
    # (buy) or high (sell) may have come before the trigger, so it is not used (Lean: StopLimitFill).
    if _within(buy, stop, limit):
        return _Match(stop, f"{prefix}.at_stop", True, None, bar.end)
    if _within(buy, bar.close, limit):
        return _Match(limit, f"{prefix}.through_limit", True, None, bar.end)
    return _Match(None, NO_FILL, True, None, bar.end)


# -- prices and quantities --------------------------------------------------------------------------


def trailing_stop_price(terms: OrderTerms, water_mark: Decimal) -> Decimal:
    """The stop of a trailing stop whose mark is `water_mark`: below it for a sell, above for a buy."""
    if terms.trail_amount is not None:
        offset = terms.trail_amount
    else:
        offset = WIDE.multiply(water_mark, WIDE.divide(_required(terms.trail_percent), HUNDRED))
    return price(water_mark - offset if terms.side == Side.SELL else water_mark + offset)


def _ratchet(buy: bool, mark: Decimal | None, last: Decimal) -> Decimal:
    # A sell's mark is the highest price seen, a buy's the lowest: it only ever moves the stop closer.
    if mark is None:
        return last
    return min(mark, last) if buy else max(mark, last)


def _crossed(buy: bool, market: Decimal, stop: Decimal) -> bool:
    return market >= stop if buy else market <= stop


def _within(buy: bool, market: Decimal, limit: Decimal) -> bool:
    return market <= limit if buy else market >= limit


def _volume_cap(event: MarketEvent, participation: Decimal) -> Decimal | None:
    """The most one evaluation may fill, or None for no cap. A quote without volume (None or 0, as
    providers report for an interval they did not count) is not capped; a bar without volume (None) is
    not either, but a bar that says no shares traded (0) fills nothing."""
    if event.volume is None or (isinstance(event, Quote) and event.volume <= ZERO):
        return None
    return WIDE.multiply(max(event.volume, ZERO), participation)


def _fill_quantity(remaining: Decimal, cap: Decimal | None, step: Decimal) -> Decimal:
    if cap is None or remaining <= cap:
        return remaining
    return WIDE.multiply((cap / step).to_integral_value(rounding=ROUND_FLOOR), step)


def _before(event: MarketEvent, placed_at: datetime) -> bool:
    # Lean: "do not fill on stale data". A bar that started before the order holds prices it never saw.
    return (event.at if isinstance(event, Quote) else event.start) < placed_at


def _event_time(event: MarketEvent) -> datetime:
    return event.at if isinstance(event, Quote) else event.end


def _required(value: Decimal | None) -> Decimal:
    if value is None:  # validate_terms refuses such an order before it can work
        raise ValueError("the order lacks a price its type needs")
    return value
