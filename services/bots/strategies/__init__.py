"""Strategies: plain functions from bars to a signal, and the registry that names them.

A new strategy is one function (in a module of this package) and one line in `STRATEGIES`.
"""

from __future__ import annotations

from services.bots.strategies.base import Signal, SignalAction, Strategy, StrategyBar
from services.bots.strategies.ema_rsi import ema_crossover_rsi

STRATEGIES: dict[str, Strategy] = {
    "ema_crossover_rsi": ema_crossover_rsi,
}

__all__ = ["STRATEGIES", "Signal", "SignalAction", "Strategy", "StrategyBar"]
