"""The console's figures: money, prices and quantities exactly as stored, latencies in milliseconds."""

from __future__ import annotations

from decimal import Decimal

from services.console.pages import milliseconds, number, price


def test_money_and_prices_show_every_stored_digit_to_the_cent_at_least():
    assert price(Decimal("49006.1250")) == "49,006.125"
    assert price(Decimal("97310.5000000000")) == "97,310.50"
    assert price(Decimal("-1234.5000")) == "-1,234.50"
    assert price(Decimal("0.0001")) == "0.0001"  # never rounded away
    assert price(None) == "—"


def test_quantities_drop_their_trailing_zeros():
    assert number(Decimal("0.5000000000")) == "0.5"
    assert number(Decimal("10.0000000000")) == "10"
    assert number(Decimal("0.0102028000")) == "0.0102028"
    assert number(Decimal("1E+3")) == "1,000"  # an exponent is written out


def test_latencies_read_in_milliseconds():
    assert milliseconds(0.1824) == "182 ms"
    assert milliseconds(1.5) == "1,500 ms"
    assert milliseconds(None) == "—"
