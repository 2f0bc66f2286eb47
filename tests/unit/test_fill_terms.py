"""validate_terms: every shape an order may not have, with the reason it is refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from services.trading.model import OrderProgress, OrderTerms, OrderType, Rejection, Side, TimeInForce, validate_terms

MARKET = OrderTerms(Side.BUY, OrderType.MARKET, D("10"))
LIMIT = OrderTerms(Side.BUY, OrderType.LIMIT, D("10"), limit_price=D("100"))
STOP = OrderTerms(Side.SELL, OrderType.STOP, D("10"), stop_price=D("95"))
STOP_LIMIT = OrderTerms(Side.SELL, OrderType.STOP_LIMIT, D("10"), limit_price=D("94"), stop_price=D("95"))
TRAILING = OrderTerms(Side.SELL, OrderType.TRAILING_STOP, D("10"), trail_amount=D("2"))
CRYPTO = OrderTerms(Side.BUY, OrderType.MARKET, D("0.015"), time_in_force=TimeInForce.GTC, asset_class="crypto")

VALID = {
    "market": MARKET,
    "limit": LIMIT,
    "stop": STOP,
    "stop_limit": STOP_LIMIT,
    "trailing_amount": TRAILING,
    "trailing_percent": replace(TRAILING, trail_amount=None, trail_percent=D("5")),
    "fractional_crypto": CRYPTO,
    "etf": replace(MARKET, asset_class="etf"),
    "ioc_limit": replace(LIMIT, time_in_force=TimeInForce.IOC),
    "fok_market": replace(MARKET, time_in_force=TimeInForce.FOK),
    "extended_hours_limit_day": replace(LIMIT, extended_hours=True),
    "whole_quantity_written_with_places": replace(MARKET, quantity=D("10.000")),
}


@pytest.mark.parametrize("terms", VALID.values(), ids=VALID.keys())
def test_a_well_formed_order_is_accepted(terms):
    assert validate_terms(terms) is None


REJECTED = [
    ("index_is_not_tradable", replace(MARKET, asset_class="index"), Rejection.ASSET_CLASS_NOT_TRADABLE),
    ("fx_is_not_tradable", replace(MARKET, asset_class="fx"), Rejection.ASSET_CLASS_NOT_TRADABLE),
    ("zero_quantity", replace(MARKET, quantity=D("0")), Rejection.NON_POSITIVE_QUANTITY),
    ("negative_quantity", replace(MARKET, quantity=D("-1")), Rejection.NON_POSITIVE_QUANTITY),
    ("nan_quantity", replace(MARKET, quantity=D("NaN")), Rejection.NON_POSITIVE_QUANTITY),
    ("infinite_quantity", replace(MARKET, quantity=D("Infinity")), Rejection.NON_POSITIVE_QUANTITY),
    ("fractional_shares", replace(MARKET, quantity=D("1.5")), Rejection.FRACTIONAL_QUANTITY),
    ("limit_without_price", replace(LIMIT, limit_price=None), Rejection.LIMIT_PRICE_MISSING),
    ("limit_price_zero", replace(LIMIT, limit_price=D("0")), Rejection.LIMIT_PRICE_NOT_POSITIVE),
    ("stop_limit_negative_limit", replace(STOP_LIMIT, limit_price=D("-1")), Rejection.LIMIT_PRICE_NOT_POSITIVE),
    ("stop_limit_without_limit", replace(STOP_LIMIT, limit_price=None), Rejection.LIMIT_PRICE_MISSING),
    ("market_with_limit_price", replace(MARKET, limit_price=D("100")), Rejection.LIMIT_PRICE_NOT_ALLOWED),
    ("stop_without_price", replace(STOP, stop_price=None), Rejection.STOP_PRICE_MISSING),
    ("stop_price_negative", replace(STOP, stop_price=D("-5")), Rejection.STOP_PRICE_NOT_POSITIVE),
    ("stop_limit_without_stop", replace(STOP_LIMIT, stop_price=None), Rejection.STOP_PRICE_MISSING),
    ("limit_with_stop_price", replace(LIMIT, stop_price=D("99")), Rejection.STOP_PRICE_NOT_ALLOWED),
    ("trailing_without_trail", replace(TRAILING, trail_amount=None), Rejection.TRAIL_MISSING),
    ("trailing_with_both", replace(TRAILING, trail_percent=D("5")), Rejection.TRAIL_BOTH_GIVEN),
    ("trailing_zero_amount", replace(TRAILING, trail_amount=D("0")), Rejection.TRAIL_NOT_POSITIVE),
    (
        "trailing_negative_percent",
        replace(TRAILING, trail_amount=None, trail_percent=D("-1")),
        Rejection.TRAIL_NOT_POSITIVE,
    ),
    (
        "trailing_hundred_percent",
        replace(TRAILING, trail_amount=None, trail_percent=D("100")),
        Rejection.TRAIL_PERCENT_TOO_LARGE,
    ),
    ("stop_with_trail", replace(STOP, trail_amount=D("1")), Rejection.TRAIL_NOT_ALLOWED),
    ("ioc_stop", replace(STOP, time_in_force=TimeInForce.IOC), Rejection.TIME_IN_FORCE_NOT_ALLOWED),
    ("fok_stop_limit", replace(STOP_LIMIT, time_in_force=TimeInForce.FOK), Rejection.TIME_IN_FORCE_NOT_ALLOWED),
    ("ioc_trailing", replace(TRAILING, time_in_force=TimeInForce.IOC), Rejection.TIME_IN_FORCE_NOT_ALLOWED),
    ("extended_hours_market", replace(MARKET, extended_hours=True), Rejection.EXTENDED_HOURS_NOT_ALLOWED),
    (
        "extended_hours_gtc_limit",
        replace(LIMIT, extended_hours=True, time_in_force=TimeInForce.GTC),
        Rejection.EXTENDED_HOURS_NOT_ALLOWED,
    ),
    ("extended_hours_stop", replace(STOP, extended_hours=True), Rejection.EXTENDED_HOURS_NOT_ALLOWED),
]


@pytest.mark.parametrize(("terms", "reason"), [(t, r) for _, t, r in REJECTED], ids=[n for n, _, _ in REJECTED])
def test_a_malformed_order_is_rejected_with_its_reason(terms, reason):
    assert validate_terms(terms) == reason


def test_every_shape_rejection_has_a_case_in_the_table():
    shape_reasons = {reason for reason in Rejection if reason not in PRE_TRADE and not reason.startswith("bracket_")}
    assert {reason for _, _, reason in REJECTED} == shape_reasons


PRE_TRADE = {
    Rejection.UNKNOWN_INSTRUMENT,
    Rejection.INACTIVE_INSTRUMENT,
    Rejection.INSUFFICIENT_CASH,
    Rejection.INSUFFICIENT_POSITION,
    Rejection.OVER_MAX_ORDER_VALUE,
    Rejection.TRADING_HALTED,
}


def test_reason_codes_are_short_snake_case_and_the_pre_trade_ones_are_there():
    assert set(Rejection) >= PRE_TRADE
    for reason in Rejection:
        assert reason.value == reason.name.lower()


def test_an_order_with_several_faults_gets_the_first_reason_in_check_order():
    # Given a limit order with a zero quantity, no limit price and a stop price it does not use
    terms = replace(LIMIT, limit_price=None, stop_price=D("1"), quantity=D("0"))
    # Then the quantity is what it hears about first
    assert validate_terms(terms) == Rejection.NON_POSITIVE_QUANTITY


def test_remaining_is_the_quantity_not_yet_filled():
    assert OrderProgress(filled_quantity=D("3")).remaining(MARKET) == D("7")
    assert OrderProgress().remaining(CRYPTO) == D("0.015")
