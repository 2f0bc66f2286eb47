"""Indicators in float, with the conventions of the `ta` package (the tests' reference).

Float, not Decimal: an indicator is a statistic that feeds a decision (is fast above slow? is RSI
under 70?), never an amount of money; exponentials in Decimal would cost much and buy nothing, and
float lets the golden tests compare with `ta` to 1e-9. Orders, sizes and prices stay Decimal.

Seeding, as `ta` does (pandas `ewm(adjust=False)`):
- EMA(n): alpha = 2 / (n + 1), seeded with the first close (ema[0] = close[0]); the first n - 1
  values are None (ta's `fillna=False` gives NaN there). Values from index n - 1 on are the
  recursion from that seed, exactly ta's.
- RSI(n): Wilder's smoothing, alpha = 1 / n, of gains and losses, where the change of bar 0 counts as
  0 (ta's `diff().where(...)` turns the first NaN into 0.0), so both averages start at 0 on bar 0,
  not at the simple mean of the first n changes as in Wilder's book; the difference fades as
  (1 - 1/n)^t. None for the first n - 1 values; 100 when the average loss is 0.
"""

from __future__ import annotations

from collections.abc import Sequence


def ema(values: Sequence[float], window: int) -> list[float | None]:
    """Exponential moving average of `values` over `window` (None until `window` values are in)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    alpha = 2.0 / (window + 1)
    out: list[float | None] = []
    average = 0.0
    for index, value in enumerate(values):
        average = value if index == 0 else alpha * value + (1 - alpha) * average
        out.append(average if index >= window - 1 else None)
    return out


def rsi(values: Sequence[float], window: int) -> list[float | None]:
    """Relative strength index of `values` over `window`, with Wilder's smoothing (None during warm-up)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    alpha = 1.0 / window
    out: list[float | None] = []
    gain = loss = 0.0
    for index, value in enumerate(values):
        change = value - values[index - 1] if index else 0.0
        up, down = max(change, 0.0), max(-change, 0.0)
        gain = up if index == 0 else alpha * up + (1 - alpha) * gain
        loss = down if index == 0 else alpha * down + (1 - alpha) * loss
        if index < window - 1:
            out.append(None)
        else:
            out.append(100.0 if loss == 0 else 100.0 - 100.0 / (1.0 + gain / loss))
    return out
