"""A circuit breaker per provider, shared by every worker process through `provider_state`.

closed    calls go through; each failed call adds one to `failures`, each success resets it to 0.
open      after `failures_to_open` consecutive failures: calls are refused (CircuitOpen, no request
          made) until `circuit_open_until`, `open_s` after the last failure.
half-open once that time has passed, exactly one caller (across all processes) wins the trial by
          pushing `circuit_open_until` on by `trial_lease_s` in one atomic UPDATE; everyone else is
          still refused. The trial's success closes the circuit, its failure re-opens it for `open_s`.
          If the trial's caller dies, the lease runs out and the next caller becomes the trial.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import IntEnum

from sqlalchemy import case, select, update
from sqlalchemy.engine import Engine

from services.errors import CircuitOpen
from services.market_data.provider_state import COLUMNS, TABLE, ProviderRows

log = logging.getLogger("tickwork.market_data")


class CircuitState(IntEnum):
    """The values of the `tickwork_provider_circuit_state` gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class SharedCircuit:
    def __init__(
        self,
        engine: Engine,
        *,
        failures_to_open: int = 5,
        open_s: float = 60.0,
        trial_lease_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.rows = ProviderRows(self.engine)
        self.failures_to_open = failures_to_open
        self.open_s = open_s
        self.trial_lease_s = trial_lease_s
        self.clock = clock

    def before_call(self, provider: str) -> CircuitState:
        """CLOSED or HALF_OPEN (this caller holds the trial) if the call may go; raises CircuitOpen."""
        now = self.clock()
        failures, open_until = self._read(provider)
        if failures < self.failures_to_open:
            return CircuitState.CLOSED
        if open_until <= now:
            claim = (
                update(TABLE)
                .where(
                    COLUMNS.provider == provider,
                    COLUMNS.failures >= self.failures_to_open,
                    COLUMNS.circuit_open_until <= now,
                )
                .values(circuit_open_until=now + self.trial_lease_s)
                .returning(COLUMNS.provider)
            )
            with self.engine.begin() as connection:
                won = connection.execute(claim).first() is not None
            if won:
                log.info("provider=%s event=circuit_half_open", provider)
                return CircuitState.HALF_OPEN
            # Another process won the trial (or closed the circuit) between our read and our claim.
            failures, open_until = self._read(provider)
            if failures < self.failures_to_open:
                return CircuitState.CLOSED
        raise CircuitOpen(
            provider, f"circuit open after {failures} consecutive failures; next trial in {open_until - now:.1f} s"
        )

    def record_success(self, provider: str) -> CircuitState:
        """The provider answered: consecutive failures start again from 0 (closes a half-open circuit)."""
        self.rows.ensure(provider)
        close = (
            update(TABLE)
            .where(COLUMNS.provider == provider, COLUMNS.failures > 0)
            .values(failures=0, circuit_open_until=0.0)
            .returning(COLUMNS.provider)
        )
        with self.engine.begin() as connection:
            if connection.execute(close).first() is not None:
                log.info("provider=%s event=circuit_closed", provider)
        return CircuitState.CLOSED

    def record_failure(self, provider: str, error: str) -> CircuitState:
        """One more consecutive failure; at `failures_to_open` the circuit (re-)opens for `open_s`."""
        self.rows.ensure(provider)
        now = self.clock()
        opens = COLUMNS.failures + 1 >= self.failures_to_open
        count = (
            update(TABLE)
            .where(COLUMNS.provider == provider)
            .values(
                failures=COLUMNS.failures + 1,
                circuit_open_until=case((opens, now + self.open_s), else_=COLUMNS.circuit_open_until),
                last_error=error[:500],
            )
            .returning(COLUMNS.failures)
        )
        with self.engine.begin() as connection:
            failures = connection.execute(count).scalar_one()
        if failures >= self.failures_to_open:
            log.warning("provider=%s event=circuit_open failures=%d error=%r", provider, failures, error[:200])
            return CircuitState.OPEN
        return CircuitState.CLOSED

    def state(self, provider: str) -> CircuitState:
        """What a caller would meet now (read-only; HALF_OPEN means the next caller gets the trial)."""
        failures, open_until = self._read(provider)
        if failures < self.failures_to_open:
            return CircuitState.CLOSED
        return CircuitState.OPEN if open_until > self.clock() else CircuitState.HALF_OPEN

    def _read(self, provider: str) -> tuple[int, float]:
        self.rows.ensure(provider)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(COLUMNS.failures, COLUMNS.circuit_open_until).where(COLUMNS.provider == provider)
            ).one()
        return row.failures, row.circuit_open_until
