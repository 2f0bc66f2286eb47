"""Day-order expiry and trading hours against NYSE's 2026 calendar, the instants written by hand in UTC
(EST is UTC-5 from November, EDT UTC-4 in summer; 2026-11-26 is Thanksgiving, 2026-11-27 closes at 13:00)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.scheduling.market_hours import NYSE
from services.trading.model import TimeInForce
from services.trading.time_in_force import can_fill_at, day_order_expiry, expires_at, next_fill_window
from tests.support.trading import order


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


EQUITY = order("buy", "market")
EXTENDED = replace(order("buy", "limit", limit="100"), extended_hours=True)
CRYPTO = replace(order("buy", "market", quantity="0.5"), asset_class="crypto", time_in_force=TimeInForce.GTC)

EXPIRY = [
    # name, placed at, asset class, extended hours, expires at
    ("equity_normal_day_at_the_close", utc(2026, 12, 1, 15), "equity", False, utc(2026, 12, 1, 21)),
    ("equity_early_close_at_13_00_et", utc(2026, 11, 27, 15), "equity", False, utc(2026, 11, 27, 18)),
    ("equity_summer_close_in_edt", utc(2026, 7, 1, 15), "equity", False, utc(2026, 7, 1, 20)),
    ("equity_pre_market_at_that_close", utc(2026, 12, 1, 12), "equity", False, utc(2026, 12, 1, 21)),
    ("equity_after_the_close_at_the_next_close", utc(2026, 12, 1, 21, 30), "equity", False, utc(2026, 12, 2, 21)),
    ("equity_exactly_at_the_close_next_close", utc(2026, 12, 1, 21), "equity", False, utc(2026, 12, 2, 21)),
    ("equity_saturday_at_monday_close", utc(2026, 11, 28, 15), "equity", False, utc(2026, 11, 30, 21)),
    ("equity_thanksgiving_at_the_early_close", utc(2026, 11, 26, 15), "equity", False, utc(2026, 11, 27, 18)),
    ("etf_like_equity", utc(2026, 12, 1, 15), "etf", False, utc(2026, 12, 1, 21)),
    ("extended_after_hours_at_20_00_et", utc(2026, 12, 1, 22), "equity", True, utc(2026, 12, 2, 1)),
    ("extended_early_close_at_17_00_et", utc(2026, 11, 27, 15), "equity", True, utc(2026, 11, 27, 22)),
    ("crypto_at_the_next_utc_midnight", utc(2026, 12, 1, 15), "crypto", False, utc(2026, 12, 2)),
    ("crypto_placed_at_midnight_lasts_a_day", utc(2026, 12, 1), "crypto", False, utc(2026, 12, 2)),
    ("crypto_on_a_saturday", utc(2026, 11, 28, 23, 59), "crypto", False, utc(2026, 11, 29)),
]


@pytest.mark.parametrize(
    ("placed_at", "asset_class", "extended", "expected"), [c[1:] for c in EXPIRY], ids=[c[0] for c in EXPIRY]
)
def test_a_day_order_expires_at_its_session_close(placed_at, asset_class, extended, expected):
    expiry = day_order_expiry(placed_at, asset_class, NYSE, extended_hours=extended)
    assert expiry == expected
    assert expiry.tzinfo == UTC


def test_expiry_by_time_in_force():
    placed = utc(2026, 12, 1, 15)
    assert expires_at(EQUITY, placed, NYSE) == utc(2026, 12, 1, 21)
    assert expires_at(EXTENDED, placed, NYSE) == utc(2026, 12, 2, 1)
    assert expires_at(replace(EQUITY, time_in_force=TimeInForce.GTC), placed, NYSE) is None
    assert expires_at(replace(EQUITY, time_in_force=TimeInForce.IOC), placed, NYSE) is None


HOURS = [
    # name, order, at, may fill
    ("equity_in_regular_hours", EQUITY, utc(2026, 12, 1, 15), True),
    ("equity_in_pre_market", EQUITY, utc(2026, 12, 1, 12), False),
    ("extended_in_pre_market", EXTENDED, utc(2026, 12, 1, 12), True),
    ("equity_in_after_hours", EQUITY, utc(2026, 12, 1, 22), False),
    ("extended_in_after_hours", EXTENDED, utc(2026, 12, 1, 22), True),
    ("extended_overnight", EXTENDED, utc(2026, 12, 2, 2), False),
    ("equity_after_an_early_close", EQUITY, utc(2026, 11, 27, 18, 30), False),
    ("extended_after_an_early_close", EXTENDED, utc(2026, 11, 27, 18, 30), True),
    ("equity_on_a_saturday", EQUITY, utc(2026, 11, 28, 15), False),
    ("extended_on_a_holiday", EXTENDED, utc(2026, 11, 26, 15), False),
    ("crypto_on_a_saturday", CRYPTO, utc(2026, 11, 28, 3), True),
]


@pytest.mark.parametrize(("terms", "at", "expected"), [c[1:] for c in HOURS], ids=[c[0] for c in HOURS])
def test_when_an_order_may_fill(terms, at, expected):
    assert can_fill_at(terms, at, NYSE) is expected


WINDOWS = [
    # name, order, at, first instant it may fill
    ("equity_placed_saturday_fills_at_monday_open", EQUITY, utc(2026, 11, 28, 15), utc(2026, 11, 30, 14, 30)),
    ("extended_placed_saturday_at_monday_pre_market", EXTENDED, utc(2026, 11, 28, 15), utc(2026, 11, 30, 9)),
    ("equity_in_regular_hours_now", EQUITY, utc(2026, 12, 1, 15), utc(2026, 12, 1, 15)),
    ("equity_in_pre_market_at_the_open", EQUITY, utc(2026, 12, 1, 12), utc(2026, 12, 1, 14, 30)),
    ("equity_after_the_close_at_the_next_open", EQUITY, utc(2026, 12, 1, 21, 30), utc(2026, 12, 2, 14, 30)),
    ("equity_on_thanksgiving_at_friday_open", EQUITY, utc(2026, 11, 26, 15), utc(2026, 11, 27, 14, 30)),
    ("extended_in_after_hours_now", EXTENDED, utc(2026, 12, 1, 22), utc(2026, 12, 1, 22)),
    ("crypto_now", CRYPTO, utc(2026, 11, 28, 3), utc(2026, 11, 28, 3)),
]


@pytest.mark.parametrize(("terms", "at", "expected"), [c[1:] for c in WINDOWS], ids=[c[0] for c in WINDOWS])
def test_the_first_instant_an_order_may_fill(terms, at, expected):
    window = next_fill_window(terms, at, NYSE)
    assert window == expected
    assert can_fill_at(terms, window, NYSE)


def test_naive_datetimes_and_untradable_classes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        day_order_expiry(datetime(2026, 12, 1, 15), "equity", NYSE)
    with pytest.raises(ValueError, match="fx"):
        can_fill_at(replace(EQUITY, asset_class="fx"), utc(2026, 12, 1, 15), NYSE)
