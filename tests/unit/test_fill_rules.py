"""Golden fill scenarios: every order type on ticks and on bars, with the prices worked out by hand
from the rules in docs/trading.md (not read back from the code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from services.trading.fills import NO_FILL, evaluate
from services.trading.model import Bar, OrderProgress, OrderTerms, Quote
from tests.support.trading import bar, order, quote

PARTICIPATION = D("0.10")


@dataclass(frozen=True)
class Case:
    name: str
    terms: OrderTerms
    event: Quote | Bar
    price: str | None  # None: nothing fills
    rule: str
    progress: OrderProgress = field(default_factory=OrderProgress)
    triggered: bool | None = None  # when given, the progress after the event must say so
    water_mark: str | None = None


TICKS = [
    Case("market buy takes the ask", order("buy", "market"), quote("100", "99.9", "100.1"), "100.1", "tick.buy_market"),
    Case("market buy without an ask takes the last", order("buy", "market"), quote("100"), "100", "tick.buy_market"),
    Case(
        "market sell takes the bid", order("sell", "market"), quote("100", "99.9", "100.1"), "99.9", "tick.sell_market"
    ),
    Case("market sell without a bid takes the last", order("sell", "market"), quote("100"), "100", "tick.sell_market"),
    Case(
        "buy limit fills at an ask better than the limit",
        order("buy", "limit", limit="100.5"),
        quote("100", "99.9", "100.1"),
        "100.1",
        "tick.buy_limit",
    ),
    Case(
        "buy limit waits while the ask is above it even if the last is below",
        order("buy", "limit", limit="100"),
        quote("99.8", "99.7", "100.1"),
        None,
        NO_FILL,
    ),
    Case(
        "buy limit without an ask uses the last",
        order("buy", "limit", limit="100"),
        quote("99.8"),
        "99.8",
        "tick.buy_limit",
    ),
    Case(
        "buy limit fills when the ask equals the limit",
        order("buy", "limit", limit="100"),
        quote("99.9", "99.8", "100"),
        "100",
        "tick.buy_limit",
    ),
    Case(
        "sell limit fills at a bid above the limit",
        order("sell", "limit", limit="100"),
        quote("100.3", "100.2", "100.4"),
        "100.2",
        "tick.sell_limit",
    ),
    Case(
        "sell limit waits while the bid is below it",
        order("sell", "limit", limit="100"),
        quote("100.1", "99.9", "100.2"),
        None,
        NO_FILL,
    ),
    Case(
        "buy stop does not trigger while the last is below it",
        order("buy", "stop", stop="105"),
        quote("104.9", "104.8", "105"),
        None,
        NO_FILL,
        triggered=False,
    ),
    Case(
        "buy stop triggers at the last and fills at the ask",
        order("buy", "stop", stop="105"),
        quote("105", "104.9", "105.1"),
        "105.1",
        "tick.buy_stop",
        triggered=True,
    ),
    Case(
        "sell stop triggers at the last and fills at the bid",
        order("sell", "stop", stop="95"),
        quote("95", "94.9", "95.1"),
        "94.9",
        "tick.sell_stop",
        triggered=True,
    ),
    Case(
        "a triggered stop fills as a market order even after the price turned back",
        order("buy", "stop", stop="105"),
        quote("104", "103.9", "104.1"),
        "104.1",
        "tick.buy_stop",
        progress=OrderProgress(D("4"), triggered=True),
    ),
    Case(
        "buy stop-limit triggers and fills at an ask within its limit",
        order("buy", "stop_limit", stop="105", limit="105.5"),
        quote("105.2", "105.1", "105.3"),
        "105.3",
        "tick.buy_stop_limit",
        triggered=True,
    ),
    Case(
        "buy stop-limit triggers but stays working while the ask is above its limit",
        order("buy", "stop_limit", stop="105", limit="105"),
        quote("105.2", "105.1", "105.3"),
        None,
        NO_FILL,
        triggered=True,
    ),
    Case(
        "a triggered buy stop-limit fills later when the ask comes within its limit",
        order("buy", "stop_limit", stop="105", limit="105"),
        quote("104.9", "104.8", "105"),
        "105",
        "tick.buy_stop_limit",
        progress=OrderProgress(triggered=True),
        triggered=True,
    ),
    Case(
        "an untriggered buy stop-limit ignores an ask within its limit",
        order("buy", "stop_limit", stop="105", limit="105"),
        quote("104.9", "104.8", "105"),
        None,
        NO_FILL,
        triggered=False,
    ),
    Case(
        "sell stop-limit triggers and fills at a bid within its limit",
        order("sell", "stop_limit", stop="95", limit="94.5"),
        quote("94.8", "94.7", "94.9"),
        "94.7",
        "tick.sell_stop_limit",
        triggered=True,
    ),
    Case(
        "trailing sell starts its mark at the first last",
        order("sell", "trailing_stop", amount="2"),
        quote("100"),
        None,
        NO_FILL,
        water_mark="100",
    ),
    Case(
        "trailing sell by percent triggers at mark less the percent",
        order("sell", "trailing_stop", percent="5"),
        quote("190"),  # mark 200: stop 200 x 0.95 = 190
        "190",
        "tick.sell_trailing_stop",
        progress=OrderProgress(water_mark=D("200")),
        triggered=True,
    ),
    Case(
        "trailing buy triggers at the low-water mark plus the trail and fills at the ask",
        order("buy", "trailing_stop", amount="1.5"),
        quote("51.5", "51.4", "51.6"),  # mark 50: stop 51.5
        "51.6",
        "tick.buy_trailing_stop",
        progress=OrderProgress(water_mark=D("50")),
        water_mark="50",
    ),
    Case(
        "trailing buy ratchets its mark down with a lower last",
        order("buy", "trailing_stop", amount="1.5"),
        quote("49"),
        None,
        NO_FILL,
        progress=OrderProgress(water_mark=D("50")),
        water_mark="49",
    ),
    Case(
        "trailing buy by percent waits below its stop",
        order("buy", "trailing_stop", percent="10"),
        quote("54.99"),  # mark 50: stop 55
        None,
        NO_FILL,
        progress=OrderProgress(water_mark=D("50")),
        water_mark="50",
        triggered=False,
    ),
]

WORKED_EXAMPLE = bar("107", "110", "106", "108")

BARS = [
    Case("market buy fills at the open", order("buy", "market"), WORKED_EXAMPLE, "107", "bar.buy_market"),
    Case("market sell fills at the open", order("sell", "market"), WORKED_EXAMPLE, "107", "bar.sell_market"),
    Case(
        "worked example: buy stop 105 on O=107 H=110 L=106 C=108 fills at the open 107",
        order("buy", "stop", stop="105"),
        WORKED_EXAMPLE,
        "107",
        "bar.buy_stop.gap_open",
        triggered=True,
    ),
    Case(
        "buy stop reached inside the bar fills at the stop",
        order("buy", "stop", stop="108"),
        WORKED_EXAMPLE,
        "108",
        "bar.buy_stop.at_stop",
        triggered=True,
    ),
    Case("buy stop above the high waits", order("buy", "stop", stop="111"), WORKED_EXAMPLE, None, NO_FILL),
    Case(
        "sell stop gapped through fills at the open",
        order("sell", "stop", stop="95"),
        bar("93", "96", "92", "94"),
        "93",
        "bar.sell_stop.gap_open",
    ),
    Case(
        "sell stop reached inside the bar fills at the stop",
        order("sell", "stop", stop="95"),
        bar("97", "98", "94", "96"),
        "95",
        "bar.sell_stop.at_stop",
    ),
    Case(
        "a triggered stop's rest fills at the next bar's open",
        order("buy", "stop", stop="105"),
        bar("104", "104.5", "103", "104"),
        "104",
        "bar.buy_stop.triggered",
        progress=OrderProgress(D("3"), triggered=True),
    ),
    Case(
        "buy limit with the open below it fills at the open",
        order("buy", "limit", limit="100"),
        bar("99", "101", "98", "100"),
        "99",
        "bar.buy_limit.gap_open",
    ),
    Case(
        "buy limit reached by the low fills at the limit",
        order("buy", "limit", limit="100"),
        bar("102", "103", "99.5", "101"),
        "100",
        "bar.buy_limit.at_limit",
    ),
    Case(
        "buy limit below the low waits",
        order("buy", "limit", limit="100"),
        bar("102", "103", "100.01", "101"),
        None,
        NO_FILL,
    ),
    Case(
        "sell limit with the open above it fills at the open",
        order("sell", "limit", limit="100"),
        bar("101", "102", "99", "100"),
        "101",
        "bar.sell_limit.gap_open",
    ),
    Case(
        "sell limit touched by the high fills at the limit",
        order("sell", "limit", limit="100"),
        bar("98", "100", "97", "99"),
        "100",
        "bar.sell_limit.at_limit",
    ),
    Case(
        "buy stop-limit triggered at the open fills at the open within its limit",
        order("buy", "stop_limit", stop="105", limit="108"),
        bar("107", "110", "104", "108"),
        "107",
        "bar.buy_stop_limit.gap_open",
        triggered=True,
    ),
    Case(
        "buy stop-limit triggered at the open fills at its limit when the low reaches it",
        order("buy", "stop_limit", stop="105", limit="106"),
        bar("107", "110", "104", "108"),
        "106",
        "bar.buy_stop_limit.at_limit",
        triggered=True,
    ),
    Case(
        "buy stop-limit triggered inside the bar fills at the stop when the stop is within the limit",
        order("buy", "stop_limit", stop="105", limit="106"),
        bar("103", "107", "102", "104"),
        "105",
        "bar.buy_stop_limit.at_stop",
        triggered=True,
    ),
    Case(
        "buy stop-limit triggered inside the bar fills at the limit when the close is through it",
        order("buy", "stop_limit", stop="105", limit="104.5"),
        bar("103", "107", "102", "104"),
        "104.5",
        "bar.buy_stop_limit.through_limit",
        triggered=True,
    ),
    Case(
        "buy stop-limit triggered inside the bar ignores a low that may have come before the trigger",
        order("buy", "stop_limit", stop="105", limit="104.5"),
        bar("103", "107", "102", "106"),
        None,
        NO_FILL,
        triggered=True,
    ),
    Case(
        "a stop-limit triggered earlier follows the bar limit rule",
        order("buy", "stop_limit", stop="105", limit="104"),
        bar("104.5", "105", "103.5", "104"),
        "104",
        "bar.buy_stop_limit.at_limit",
        progress=OrderProgress(triggered=True),
        triggered=True,
    ),
    Case(
        "sell stop-limit triggered inside the bar fills at the stop within its limit",
        order("sell", "stop_limit", stop="95", limit="94"),
        bar("97", "98", "93", "96"),
        "95",
        "bar.sell_stop_limit.at_stop",
    ),
    Case(
        "sell stop-limit with its limit above the stop fills at the limit when the close is above it",
        order("sell", "stop_limit", stop="95", limit="96"),
        bar("97", "98", "93", "96.5"),
        "96",
        "bar.sell_stop_limit.through_limit",
    ),
    Case(
        "sell stop-limit gapped through fills at the open within its limit",
        order("sell", "stop_limit", stop="95", limit="94"),
        bar("94.5", "95", "93", "94"),
        "94.5",
        "bar.sell_stop_limit.gap_open",
    ),
    Case(
        "sell stop-limit gapped below its limit fills at the limit when the high comes back",
        order("sell", "stop_limit", stop="95", limit="94"),
        bar("93", "94.5", "92", "93"),
        "94",
        "bar.sell_stop_limit.at_limit",
    ),
    Case(
        "trailing sell checks the low against the stop from before the bar's high",
        order("sell", "trailing_stop", amount="2"),
        bar("109", "112", "107.5", "111"),  # mark 110: stop 108
        "108",
        "bar.sell_trailing_stop.at_stop",
        progress=OrderProgress(water_mark=D("110")),
        triggered=True,
    ),
    Case(
        "trailing sell ratchets with the high only after the check",
        order("sell", "trailing_stop", amount="2"),
        bar("111", "115", "109.5", "114"),  # mark 111 after the open: stop 109 > low 109.5? no
        None,
        NO_FILL,
        progress=OrderProgress(water_mark=D("110")),
        water_mark="115",
        triggered=False,
    ),
    Case(
        "trailing sell gapped through fills at the open",
        order("sell", "trailing_stop", amount="2"),
        bar("105", "106", "104", "105"),  # mark 110: stop 108
        "105",
        "bar.sell_trailing_stop.gap_open",
        progress=OrderProgress(water_mark=D("110")),
    ),
    Case(
        "trailing buy by percent reached by the high fills at the stop",
        order("buy", "trailing_stop", percent="10"),
        bar("52", "56", "51", "55"),  # mark 50: stop 55
        "55",
        "bar.buy_trailing_stop.at_stop",
        progress=OrderProgress(water_mark=D("50")),
    ),
    Case(
        "trailing buy ratchets down with the low after the check",
        order("buy", "trailing_stop", amount="1"),
        bar("49.5", "50", "48", "49"),  # mark 49.5 after the open: stop 50.5 > high 50
        None,
        NO_FILL,
        progress=OrderProgress(water_mark=D("50")),
        water_mark="48",
    ),
    Case(
        "trailing buy gapped through fills at the open",
        order("buy", "trailing_stop", amount="1"),
        bar("52", "53", "51.5", "52"),  # mark 50: stop 51
        "52",
        "bar.buy_trailing_stop.gap_open",
        progress=OrderProgress(water_mark=D("50")),
    ),
    Case(
        "a triggered trailing stop's rest fills at the open",
        order("sell", "trailing_stop", amount="2"),
        bar("120", "121", "119", "120"),
        "120",
        "bar.sell_trailing_stop.triggered",
        progress=OrderProgress(D("5"), triggered=True, water_mark=D("110")),
    ),
    Case(
        "a triggered trailing stop's rest fills at the bid on a tick",
        order("sell", "trailing_stop", amount="2"),
        quote("120", "119.9", "120.1"),
        "119.9",
        "tick.sell_trailing_stop",
        progress=OrderProgress(D("5"), triggered=True, water_mark=D("110")),
    ),
]


@pytest.mark.parametrize("case", TICKS + BARS, ids=lambda case: case.name.replace(" ", "_"))
def test_golden_fill(case: Case):
    # When the event is evaluated with no volume cap (no volume on the event)
    result = evaluate(case.terms, case.progress, case.event, participation=PARTICIPATION)
    # Then the order fills its whole remaining quantity at the hand-computed price, or not at all
    remaining = case.progress.remaining(case.terms)
    if case.price is None:
        assert (result.fill_quantity, result.fill_price, result.done) == (D(0), None, False)
    else:
        assert (result.fill_quantity, result.fill_price, result.done) == (remaining, D(case.price), True)
    assert result.rule == case.rule
    assert result.progress.filled_quantity == case.progress.filled_quantity + result.fill_quantity
    if case.triggered is not None:
        assert result.progress.triggered is case.triggered
    if case.water_mark is not None:
        assert result.progress.water_mark == D(case.water_mark)
