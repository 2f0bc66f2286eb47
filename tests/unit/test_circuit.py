"""The shared circuit breaker's transitions, with an injected clock, on a real SQLite database."""

from __future__ import annotations

import pytest

from services.errors import CircuitOpen
from services.market_data.circuit import CircuitState, SharedCircuit
from services.storage.db import make_engine
from services.storage.migrate import upgrade

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('circuit') / 'tickwork.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def breaker(url: str, clock: FakeClock) -> SharedCircuit:
    return SharedCircuit(make_engine(url), failures_to_open=3, open_s=60, trial_lease_s=20, clock=clock)


@pytest.fixture
def circuit(sqlite_url: str, clock: FakeClock) -> SharedCircuit:
    fresh = breaker(sqlite_url, clock)
    with fresh.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM provider_state")
    return fresh


def fail(circuit: SharedCircuit, times: int) -> CircuitState:
    state = CircuitState.CLOSED
    for _ in range(times):
        state = circuit.record_failure("p", "HTTP 503")
    return state


def test_the_circuit_stays_closed_below_the_failure_threshold(circuit):
    assert fail(circuit, 2) is CircuitState.CLOSED
    assert circuit.before_call("p") is CircuitState.CLOSED


def test_a_success_restarts_the_count_of_consecutive_failures(circuit):
    fail(circuit, 2)
    circuit.record_success("p")
    assert fail(circuit, 2) is CircuitState.CLOSED
    assert circuit.before_call("p") is CircuitState.CLOSED


def test_the_circuit_opens_after_n_consecutive_failures_and_refuses_calls(circuit, clock):
    assert fail(circuit, 3) is CircuitState.OPEN
    clock.now = T0 + 59
    with pytest.raises(CircuitOpen, match="3 consecutive failures"):
        circuit.before_call("p")
    assert circuit.state("p") is CircuitState.OPEN


def test_after_the_open_time_exactly_one_caller_of_any_process_gets_the_trial(sqlite_url, circuit, clock):
    fail(circuit, 3)
    clock.now = T0 + 60
    assert circuit.state("p") is CircuitState.HALF_OPEN
    other_process = breaker(sqlite_url, clock)
    assert circuit.before_call("p") is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpen):
        other_process.before_call("p")
    with pytest.raises(CircuitOpen):
        circuit.before_call("p")


def test_a_successful_trial_closes_the_circuit_for_everyone(sqlite_url, circuit, clock):
    fail(circuit, 3)
    clock.now = T0 + 61
    assert circuit.before_call("p") is CircuitState.HALF_OPEN
    assert circuit.record_success("p") is CircuitState.CLOSED
    assert breaker(sqlite_url, clock).before_call("p") is CircuitState.CLOSED
    # And it takes N new failures to open it again
    assert fail(circuit, 2) is CircuitState.CLOSED


def test_a_failed_trial_opens_the_circuit_again_for_the_open_time(circuit, clock):
    fail(circuit, 3)
    clock.now = T0 + 61
    assert circuit.before_call("p") is CircuitState.HALF_OPEN
    assert circuit.record_failure("p", "timeout") is CircuitState.OPEN
    clock.now = T0 + 61 + 59
    with pytest.raises(CircuitOpen):
        circuit.before_call("p")
    clock.now = T0 + 61 + 60
    assert circuit.before_call("p") is CircuitState.HALF_OPEN


def test_a_trial_whose_caller_vanished_is_handed_on_after_its_lease(circuit, clock):
    fail(circuit, 3)
    clock.now = T0 + 60
    assert circuit.before_call("p") is CircuitState.HALF_OPEN
    clock.now = T0 + 60 + 19
    with pytest.raises(CircuitOpen):
        circuit.before_call("p")
    clock.now = T0 + 60 + 20
    assert circuit.before_call("p") is CircuitState.HALF_OPEN


def test_the_last_error_is_kept_for_operators(circuit):
    circuit.record_failure("p", "HTTP 502: Bad Gateway")
    with circuit.engine.begin() as connection:
        stored = connection.exec_driver_sql("SELECT last_error FROM provider_state WHERE provider = 'p'").scalar()
    assert stored == "HTTP 502: Bad Gateway"
