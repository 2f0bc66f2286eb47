from services.engine.delays import DUE_AT, parked_options, remaining_ms


def test_short_delay_is_parked_until_due():
    assert parked_options(due_at_ms=5_000, now_ms=1_000, hold_ms=10_000) == {"eta": 5_000, DUE_AT: 5_000}


def test_long_delay_is_parked_at_most_the_hold_then_again_until_due():
    options = parked_options(due_at_ms=100_000, now_ms=0, hold_ms=30_000)
    assert options["eta"] == 30_000
    assert remaining_ms(options, now_ms=30_000) == 70_000
    assert remaining_ms(options, now_ms=100_001) == 0
    assert remaining_ms({}, now_ms=5) == 0
