"""Bots' indicators against the `ta` package, and the EMA crossover's signals on constructed series."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pandas as pd
import pytest
from ta.momentum import RSIIndicator
from ta.trend import EMAIndicator

from services.bots.strategies import STRATEGIES, SignalAction, StrategyBar
from services.bots.strategies.base import StrategyParamsInvalid
from services.bots.strategies.indicators import ema, rsi

# A fixed series: 120 closes of a noisy walk (deterministic, no random seed to drift).
CLOSES = [100 + 8 * math.sin(i / 7) + 3 * math.sin(i * 1.3) + 0.05 * i for i in range(120)]
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def bars(closes: list[float]) -> list[StrategyBar]:
    return [StrategyBar(T0 + timedelta(days=i), D(str(round(c, 6)))) for i, c in enumerate(closes)]


@pytest.mark.parametrize("window", [5, 9, 21, 50])
def test_ema_equals_ta_ema_indicator_including_its_warm_up(window: int) -> None:
    reference = EMAIndicator(pd.Series(CLOSES), window=window, fillna=False).ema_indicator().tolist()
    ours = ema(CLOSES, window)
    assert [value is None for value in ours] == [math.isnan(value) for value in reference]
    assert all(a == pytest.approx(b, rel=1e-12) for a, b in zip(ours, reference, strict=True) if a is not None)


@pytest.mark.parametrize("window", [2, 7, 14, 30])
def test_rsi_equals_ta_rsi_indicator_with_wilders_smoothing(window: int) -> None:
    reference = RSIIndicator(pd.Series(CLOSES), window=window, fillna=False).rsi().tolist()
    ours = rsi(CLOSES, window)
    assert [value is None for value in ours] == [math.isnan(value) for value in reference]
    assert all(a == pytest.approx(b, rel=1e-10) for a, b in zip(ours, reference, strict=True) if a is not None)


def test_rsi_is_100_when_nothing_fell_as_ta_says() -> None:
    rising = [float(i) for i in range(1, 30)]
    assert rsi(rising, 14)[-1] == 100.0 == RSIIndicator(pd.Series(rising), window=14).rsi().iloc[-1]


PARAMS = {"fast": 3, "slow": 6, "rsi_window": 5, "rsi_overbought": 70}
strategy = STRATEGIES["ema_crossover_rsi"]
DECLINE = [100 - 0.5 * i for i in range(20)]


def test_a_cross_up_buys_when_flat() -> None:
    # Given a slow decline, then a rise modest enough to keep RSI (64) under 70 the bar the fast EMA crosses
    closes = [*DECLINE, 94.0]
    signal = strategy(bars(closes), PARAMS, False)
    assert signal.action == SignalAction.BUY, signal
    assert signal.indicators["ema_fast"] > signal.indicators["ema_slow"]  # type: ignore[operator]
    assert signal.bar_time == T0 + timedelta(days=len(closes) - 1)


def test_a_cross_up_with_rsi_overbought_is_vetoed() -> None:
    # Given the same cross, first with a bigger jump (RSI far over 70), then under a stricter threshold
    for closes, params in (([*DECLINE, 99.0], PARAMS), ([*DECLINE, 94.0], {**PARAMS, "rsi_overbought": 60})):
        signal = strategy(bars(closes), params, False)
        assert signal.action == SignalAction.HOLD
        assert signal.reason.startswith("cross up vetoed: rsi")
        assert signal.indicators["ema_fast"] > signal.indicators["ema_slow"]  # type: ignore[operator]
    signal = strategy(bars([*DECLINE, 99.0]), PARAMS, False)
    assert signal.action == SignalAction.HOLD
    assert signal.reason.startswith("cross up vetoed: rsi")
    assert signal.indicators["rsi"] >= 70  # type: ignore[operator]


def test_a_cross_down_sells_in_position_and_holds_when_flat() -> None:
    closes = [80 + 0.5 * i for i in range(20)] + [86.0]
    assert strategy(bars(closes), PARAMS, True).action == SignalAction.SELL
    assert strategy(bars(closes), PARAMS, False).action == SignalAction.HOLD


def test_no_cross_holds_and_too_few_bars_warm_up() -> None:
    rising = [80 + 0.5 * i for i in range(30)]
    assert strategy(bars(rising), PARAMS, True).reason == "in position, no cross down"
    assert strategy(bars(rising), PARAMS, False).reason == "no cross up"
    warming = strategy(bars(rising[:5]), PARAMS, False)
    assert (warming.action, warming.reason) == (SignalAction.HOLD, "warming up: 5 of 7 bars")


def test_unusable_parameters_are_a_configuration_error() -> None:
    with pytest.raises(StrategyParamsInvalid):
        strategy(bars(CLOSES), {"fast": 30, "slow": 10}, False)
    with pytest.raises(StrategyParamsInvalid):
        strategy(bars(CLOSES), {"fast": "nine"}, False)
