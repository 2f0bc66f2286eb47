"""Price staleness in market time: a closed NYSE does not age a price; crypto ages by the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.market_data.staleness import is_stale, last_open_moment, market_age

LIMIT = 900.0  # 15 minutes, the default TICKWORK_PRICE_MAX_AGE_SECONDS


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# November 2026 is EST (UTC-5): the regular session is 14:30-21:00 UTC.
FRIDAY_1559 = utc("2026-11-20 20:59")


def test_friday_close_is_fresh_all_weekend():
    # Given Friday's 15:59 ET price, on Sunday the market has been closed since 16:00 Friday.
    sunday = utc("2026-11-22 12:00")
    assert market_age("equity", FRIDAY_1559, sunday) == timedelta(minutes=1)
    assert not is_stale("equity", FRIDAY_1559, sunday, LIMIT)


def test_monday_open_ages_a_friday_price_once_the_market_runs():
    # When Monday's session is 10 minutes old, Friday's price is days behind the market.
    monday = utc("2026-11-23 14:40")
    assert last_open_moment("etf", monday) == monday
    assert is_stale("etf", FRIDAY_1559, monday, LIMIT)


def test_overnight_and_pre_market_do_not_age_a_price():
    # Given Tuesday's 15:59 ET price, at 08:00 ET Wednesday (pre-market) only a minute has counted.
    price_at, now = utc("2026-11-24 20:59"), utc("2026-11-25 13:00")
    assert market_age("equity", price_at, now) == timedelta(minutes=1)
    assert not is_stale("equity", price_at, now, LIMIT)


def test_a_holiday_does_not_age_a_price():
    # Thanksgiving, Thursday 26 November 2026: the last open moment is Wednesday's close.
    price_at, thanksgiving_noon = utc("2026-11-25 20:55"), utc("2026-11-26 17:00")
    assert last_open_moment("equity", thanksgiving_noon) == utc("2026-11-25 21:00")
    assert not is_stale("equity", price_at, thanksgiving_noon, LIMIT)


def test_an_early_close_stops_the_clock_at_13_00():
    # Friday 27 November 2026 closes at 13:00 ET (18:00 UTC); at 15:00 ET the market is closed.
    three_pm = utc("2026-11-27 20:00")
    assert last_open_moment("equity", three_pm) == utc("2026-11-27 18:00")
    assert not is_stale("equity", utc("2026-11-27 17:58"), three_pm, LIMIT)
    assert is_stale("equity", utc("2026-11-27 17:30"), three_pm, LIMIT)


def test_during_the_session_age_is_clock_time():
    now = utc("2026-11-24 16:00")
    assert not is_stale("equity", now - timedelta(minutes=14), now, LIMIT)
    assert is_stale("equity", now - timedelta(minutes=16), now, LIMIT)


def test_an_after_hours_price_is_never_older_than_zero():
    price_at, now = utc("2026-11-24 22:00"), utc("2026-11-24 23:00")
    assert market_age("equity", price_at, now) == timedelta(0)


@pytest.mark.parametrize("asset_class", ["crypto", "fx", "something-new"])
def test_around_the_clock_classes_age_by_the_wall_clock(asset_class):
    # A Saturday: NYSE is closed, crypto is not.
    now = utc("2026-11-21 10:20")
    assert market_age(asset_class, utc("2026-11-21 10:00"), now) == timedelta(minutes=20)
    assert is_stale(asset_class, utc("2026-11-21 10:00"), now, LIMIT)
    assert not is_stale(asset_class, utc("2026-11-21 10:10"), now, LIMIT)
