"""What every strategy takes and returns: bars in, one signal out, no I/O.

A strategy is `(bars, params, in_position) -> Signal`. It raises StrategyParamsInvalid for parameters
it cannot use (a configuration error: the run is not retried) and answers `hold` when the bars are
too few to decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from services.errors import NonRetryableError


class StrategyParamsInvalid(NonRetryableError):
    """Raised when a strategy's parameters cannot be used (wrong type, out of range, unknown name)."""


class SignalAction(StrEnum):
    BUY = "buy"  # enter a long position
    SELL = "sell"  # leave it
    HOLD = "hold"  # do nothing this bar


@dataclass(frozen=True)
class StrategyBar:
    """One closed bar as a strategy sees it (prices Decimal as stored)."""

    ts: datetime
    close: Decimal
    high: Decimal | None = None
    low: Decimal | None = None


@dataclass(frozen=True)
class Signal:
    """A decision, why, and the indicator values it rests on (for the TradingSignal row)."""

    action: SignalAction
    reason: str
    indicators: dict[str, float | None] = field(default_factory=dict)
    bar_time: datetime | None = None  # the last bar the decision saw


class Strategy(Protocol):
    def __call__(self, bars: Sequence[StrategyBar], params: Mapping[str, Any], in_position: bool) -> Signal: ...


def int_param(params: Mapping[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StrategyParamsInvalid(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def float_param(params: Mapping[str, Any], name: str, default: float, *, low: float, high: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise StrategyParamsInvalid(f"{name} must be a number from {low} to {high}, not {value!r}")
    return float(value)
