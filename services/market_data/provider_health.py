"""Each provider's health as operators read it: circuit, rate budget spent this window, Retry-After
block, consecutive failures, the last error and recent latency, from the shared `provider_state` rows
(read-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlmodel import Session, select

from services.market_data.circuit import CircuitState
from services.market_data.provider_latency import RecentLatency, recent_latency
from services.storage.models import ProviderState

WINDOW_S = 60.0  # SharedRateLimit's default window: budgets are per minute


@dataclass(frozen=True)
class ProviderHealth:
    provider: str
    circuit: str  # closed | half_open | open
    circuit_open_for_s: float | None  # seconds until a trial call is allowed, while open
    used: int  # units spent in the current window
    budget: int  # units allowed per window
    blocked_for_s: float | None  # a provider's Retry-After still in force
    failures: int
    last_error: str | None
    latency: RecentLatency


def provider_health(
    *, session: Session, providers: Iterable[str], budgets: Mapping[str, int], failures_to_open: int, now: float
) -> list[ProviderHealth]:
    """One entry per provider, in the given order (a provider no worker has called yet reads as idle)."""
    rows = {row.provider: row for row in session.exec(select(ProviderState))}
    window = now - now % WINDOW_S
    found = []
    for name in providers:
        row = rows.get(name) or ProviderState(provider=name)
        if row.failures < failures_to_open:
            circuit = CircuitState.CLOSED
        else:
            circuit = CircuitState.OPEN if row.circuit_open_until > now else CircuitState.HALF_OPEN
        found.append(
            ProviderHealth(
                provider=name,
                circuit=circuit.name.lower(),
                circuit_open_for_s=row.circuit_open_until - now if circuit is CircuitState.OPEN else None,
                used=row.used if row.window_start >= window else 0,
                budget=budgets.get(name, 0),
                blocked_for_s=row.blocked_until - now if row.blocked_until > now else None,
                failures=row.failures,
                last_error=row.last_error,
                latency=recent_latency(row, now),
            )
        )
    return found
