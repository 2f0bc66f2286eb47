"""Which bots the fan-out runs at a tick (cadences, market hours), and the fan-out's deterministic ids."""

from __future__ import annotations

from datetime import UTC, datetime

from services.bots.fanout import BotRun, is_due, tick_of

# Tuesday 24 November 2026: 15:00 UTC is 10:00 in New York (regular hours), 21:00 UTC is 16:00 (the close).
TUESDAY_10AM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
TUESDAY_CLOSE = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
BLACK_FRIDAY_CLOSE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 13:00 in New York: an early close
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def test_every_minute_runs_at_every_tick_and_hourly_at_minute_zero() -> None:
    assert is_due("every_minute", False, TUESDAY_10AM.replace(minute=7))
    assert is_due("hourly", False, TUESDAY_10AM) and not is_due("hourly", False, TUESDAY_10AM.replace(minute=1))


def test_at_close_follows_the_nyse_calendar_early_closes_included() -> None:
    assert is_due("at_close", False, TUESDAY_CLOSE)
    assert not is_due("at_close", False, TUESDAY_10AM)
    assert is_due("at_close", False, BLACK_FRIDAY_CLOSE)
    assert not is_due("at_close", False, SATURDAY)


def test_market_hours_only_bots_wait_for_regular_hours_crypto_bots_do_not() -> None:
    assert is_due("every_minute", True, TUESDAY_10AM)
    assert not is_due("every_minute", True, SATURDAY)
    assert is_due("every_minute", False, SATURDAY)


def test_a_fan_out_tick_and_its_message_ids_are_the_same_for_every_delivery() -> None:
    first, again = tick_of(TUESDAY_10AM.replace(second=7)), tick_of(TUESDAY_10AM.replace(second=59, microsecond=5))
    assert first == again == TUESDAY_10AM
    assert BotRun(42, first).message_id == BotRun(42, again).message_id == "run_bot-42-20261124T1500Z"
