"""Fees by asset class, worked out by hand: per share with a minimum and a cap, crypto maker/taker."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.trading.fees import DEFAULT_FEES, Execution, FeeSchedule, fee, order_fee, order_fee_increment
from services.trading.model import Liquidity

CASES = [
    # name, asset class, quantity, price, liquidity, expected fee
    ("per_share_above_minimum", "equity", "1000", "25", Liquidity.TAKER, "5.0000"),  # 1000 x 0.005
    ("minimum_applies", "equity", "100", "25", Liquidity.TAKER, "1.0000"),  # 0.50 -> min 1.00
    ("etf_same_as_equity", "etf", "300", "50", Liquidity.MAKER, "1.5000"),
    # 1000 x 0.005 = 5.00 but the cap is 0.5 % of 250 = 1.25 (IBKR: 1000 @ 0.25 is capped too)
    ("cap_below_per_share", "equity", "1000", "0.25", Liquidity.TAKER, "1.2500"),
    # 10 x 0.005 = 0.05 -> min 1.00, but the cap 0.5 % of 10 x 2 = 0.10 wins over the minimum
    ("cap_wins_over_minimum", "equity", "10", "2", Liquidity.TAKER, "0.1000"),
    # 2 x 0.005 = 0.01 -> min 1.00 -> the cap, 0.5 % of 2 x 1.25 = 0.0125, already at 4 places
    ("cap_to_four_places", "equity", "2", "1.25", Liquidity.TAKER, "0.0125"),
    # 3 x 0.00123 = 0.00369 x 0.5 % = 0.00001845 -> 0.0000 (half-even, 4 places)
    ("tiny_cap_rounds_to_zero", "equity", "3", "0.00123", Liquidity.TAKER, "0.0000"),
    ("crypto_taker", "crypto", "0.5", "40000", Liquidity.TAKER, "20.0000"),  # 20000 x 0.1 %
    ("crypto_maker", "crypto", "0.5", "40000", Liquidity.MAKER, "20.0000"),
    # 0.00025 x 12345.67 = 3.0864175 x 0.1 % = 0.0030864175 -> 0.0031
    ("crypto_rounded_half_even", "crypto", "0.00025", "12345.67", Liquidity.TAKER, "0.0031"),
    ("nothing_filled_costs_nothing", "equity", "0", "25", Liquidity.TAKER, "0.0000"),
]


@pytest.mark.parametrize(
    ("asset_class", "quantity", "price", "liquidity", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_default_schedule_charges_what_the_rules_say(asset_class, quantity, price, liquidity, expected):
    assert fee(DEFAULT_FEES, asset_class, D(quantity), D(price), liquidity) == D(expected)


def test_maker_and_taker_rates_differ_when_the_schedule_says_so():
    schedule = FeeSchedule(crypto_maker_rate=D("0.0002"), crypto_taker_rate=D("0.0006"))
    assert fee(schedule, "crypto", D("1"), D("1000"), Liquidity.MAKER) == D("0.2000")
    assert fee(schedule, "crypto", D("1"), D("1000"), Liquidity.TAKER) == D("0.6000")


def test_half_to_even_rounding_at_four_places():
    # 0.00005 exactly sits between 0.0000 and 0.0001: half to even keeps 0.0000; 0.00015 goes to 0.0002
    schedule = FeeSchedule(crypto_taker_rate=D("0.00001"))
    assert fee(schedule, "crypto", D("1"), D("5"), Liquidity.TAKER) == D("0.0000")
    assert fee(schedule, "crypto", D("1"), D("15"), Liquidity.TAKER) == D("0.0002")


def test_a_schedule_refuses_negative_or_non_finite_figures():
    with pytest.raises(ValueError, match="equity_minimum"):
        FeeSchedule(equity_minimum=D("-1"))
    with pytest.raises(ValueError, match="crypto_taker_rate"):
        FeeSchedule(crypto_taker_rate=D("NaN"))


def test_an_asset_class_without_a_schedule_is_an_error():
    with pytest.raises(ValueError, match="fx"):
        fee(DEFAULT_FEES, "fx", D("1"), D("1"), Liquidity.TAKER)


def shares(quantity, price, liquidity=Liquidity.TAKER) -> Execution:
    return Execution(D(quantity), D(price), liquidity)


def increments(schedule, asset_class, fills) -> list[D]:
    return [order_fee_increment(schedule, asset_class, fills[:i], fill) for i, fill in enumerate(fills)]


def test_an_order_filled_in_parts_pays_the_minimum_once():
    # Given 300 shares at $25 filled as 100 + 100 + 100
    fills = [shares("100", "25")] * 3
    # Then the first fill pays the $1.00 minimum, the second nothing more (200 x 0.005 = $1.00),
    # the third the $0.50 the per-share fee now exceeds it by
    assert increments(DEFAULT_FEES, "equity", fills) == [D("1.0000"), D("0.0000"), D("0.5000")]
    # and together they are the fee of the order as one fill: 300 x 0.005 = $1.50
    assert order_fee(DEFAULT_FEES, "equity", fills) == fee(DEFAULT_FEES, "equity", D(300), D(25), Liquidity.TAKER)


def test_the_cap_applies_to_the_order_as_a_whole():
    # 10 + 10 shares at $2: the cap is 0.5 % of $20, then of $40
    assert increments(DEFAULT_FEES, "equity", [shares("10", "2"), shares("10", "2")]) == [D("0.1000"), D("0.1000")]


def test_crypto_fills_pay_their_own_maker_or_taker_rate():
    schedule = FeeSchedule(crypto_maker_rate=D("0.0002"), crypto_taker_rate=D("0.0006"))
    fills = [shares("1", "1000", Liquidity.TAKER), shares("1", "1000", Liquidity.MAKER)]
    assert increments(schedule, "crypto", fills) == [D("0.6000"), D("0.2000")]


def test_an_order_without_fills_has_paid_nothing():
    assert order_fee(DEFAULT_FEES, "equity", []) == D("0.0000")
