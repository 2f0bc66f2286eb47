"""The sandbox's knobs, set at start-up or through `POST /_sandbox/config` (docs/sandbox.md).

Default rate limits follow the providers where they publish one: Binance 6000 request weight a
minute (its exchangeInfo), CoinGecko 30 calls a minute (the demo plan). Yahoo and Stooq publish
none: the sandbox allows a generous 6000 requests a minute for each, and no daily limit for Stooq.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.errors import TickworkError

PROVIDERS = ("yahoo", "binance", "coingecko", "stooq")
DEFAULT_LIMITS: dict[str, int | None] = {"yahoo": 6000, "binance": 6000, "coingecko": 30, "stooq": 6000}


class ConfigError(TickworkError, ValueError):
    """Raised when a configuration change names an unknown provider or has a bad value."""


@dataclass
class SandboxConfig:
    """Latency per provider (ms), per-minute limits (Binance's in weight; None = no limit), and the rest."""

    latency_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROVIDERS, 0.0))
    limits: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    binance_ban_s: float = 120.0  # Binance's shortest IP ban, after a request sent during a Retry-After
    stooq_daily_limit: int | None = None  # hits per (Warsaw) day before "Exceeded the daily hits limit"
    frozen_at: float | None = None  # the market's clock stops here (epoch seconds) when set

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": dict(self.latency_ms),
            "limits": dict(self.limits),
            "binance_ban_s": self.binance_ban_s,
            "stooq_daily_limit": self.stooq_daily_limit,
            "frozen_at": self.frozen_at,
        }

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial change: `{"latency_ms": 50}` or `{"latency_ms": {"yahoo": 50}}`, `{"limits": {...}}`."""
        unknown = set(changes) - {"latency_ms", "limits", "binance_ban_s", "stooq_daily_limit", "frozen_at"}
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        if "latency_ms" in changes:
            self.latency_ms.update(_per_provider(changes["latency_ms"], "latency_ms", allow_none=False))
        if "limits" in changes:
            self.limits.update(_per_provider(changes["limits"], "limits", allow_none=True))
        if "binance_ban_s" in changes:
            self.binance_ban_s = _number(changes["binance_ban_s"], "binance_ban_s")
        if "stooq_daily_limit" in changes:
            value = changes["stooq_daily_limit"]
            self.stooq_daily_limit = None if value is None else int(_number(value, "stooq_daily_limit"))
        if "frozen_at" in changes:
            value = changes["frozen_at"]
            self.frozen_at = None if value is None else _number(value, "frozen_at")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{name} must be a number >= 0, not {value!r}")
    return float(value)


def _per_provider(value: Any, name: str, *, allow_none: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        value = dict.fromkeys(PROVIDERS, value)
    out: dict[str, Any] = {}
    for provider, amount in value.items():
        if provider not in PROVIDERS:
            raise ConfigError(f"{name}: unknown provider {provider!r} (one of {', '.join(PROVIDERS)})")
        if amount is None and allow_none:
            out[provider] = None
        else:
            number = _number(amount, f"{name}.{provider}")
            out[provider] = int(number) if name == "limits" else number
    return out
