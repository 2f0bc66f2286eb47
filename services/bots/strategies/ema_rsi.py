"""EMA crossover with an RSI filter (TradeBot's EMA strategy, seed 004).

On the last closed bar:
- flat, the fast EMA crosses above the slow one (at or below it the bar before, above it now) and RSI
  is under `rsi_overbought`: buy. A cross up with RSI at or over it is vetoed: hold, reason says so.
- in position, the fast EMA crosses below the slow one: sell; or RSI over `rsi_exit` (if set): sell.
- anything else: hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.bots.strategies.base import (
    Signal,
    SignalAction,
    StrategyBar,
    StrategyParamsInvalid,
    float_param,
    int_param,
)
from services.bots.strategies.indicators import ema, rsi


def ema_crossover_rsi(bars: Sequence[StrategyBar], params: Mapping[str, Any], in_position: bool) -> Signal:
    fast_n = int_param(params, "fast", 9, low=2, high=500)
    slow_n = int_param(params, "slow", 21, low=3, high=1000)
    rsi_n = int_param(params, "rsi_window", 14, low=2, high=500)
    overbought = float_param(params, "rsi_overbought", 70.0, low=1.0, high=100.0)
    exit_level = params.get("rsi_exit")
    if fast_n >= slow_n:
        raise StrategyParamsInvalid(f"fast ({fast_n}) must be shorter than slow ({slow_n})")
    closes = [float(bar.close) for bar in bars]
    last_time = bars[-1].ts if bars else None
    needed = max(slow_n, rsi_n) + 1
    if len(closes) < needed:
        return Signal(SignalAction.HOLD, f"warming up: {len(closes)} of {needed} bars", {}, last_time)
    fast, slow, strength = ema(closes, fast_n), ema(closes, slow_n), rsi(closes, rsi_n)
    f0, s0, f1, s1, r1 = fast[-2], slow[-2], fast[-1], slow[-1], strength[-1]
    assert f0 is not None and s0 is not None and f1 is not None and s1 is not None and r1 is not None
    values: dict[str, float | None] = {"ema_fast": f1, "ema_slow": s1, "rsi": r1, "close": closes[-1]}
    crossed_up, crossed_down = f0 <= s0 and f1 > s1, f0 >= s0 and f1 < s1
    if not in_position:
        if crossed_up and r1 < overbought:
            return Signal(SignalAction.BUY, f"ema {fast_n} crossed above ema {slow_n}", values, last_time)
        if crossed_up:
            return Signal(SignalAction.HOLD, f"cross up vetoed: rsi {r1:.1f} >= {overbought:g}", values, last_time)
        return Signal(SignalAction.HOLD, "no cross up", values, last_time)
    if crossed_down:
        return Signal(SignalAction.SELL, f"ema {fast_n} crossed below ema {slow_n}", values, last_time)
    if exit_level is not None and r1 > float_param(params, "rsi_exit", 80.0, low=1.0, high=100.0):
        return Signal(SignalAction.SELL, f"rsi {r1:.1f} over exit level {float(exit_level):g}", values, last_time)
    return Signal(SignalAction.HOLD, "in position, no cross down", values, last_time)
