"""Each provider's recent latency: the windows a reading adds up (plain rows), and the atomic UPDATE
that keeps them (an injected clock, on a real SQLite database)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from services.market_data.provider_latency import WINDOW_S, SharedLatency, recent_latency
from services.storage.db import make_engine
from services.storage.migrate import upgrade
from services.storage.models import ProviderState

T0 = 5_000_000 * WINDOW_S  # the start of a window


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def row(start: float, current: tuple[int, int, float, float], previous: tuple[int, int, float, float] = (0, 0, 0, 0)):
    """A provider row whose window starting at `start` holds `current` (attempts, errors, seconds,
    slowest), and the window before it `previous`."""
    return ProviderState(
        provider="p",
        latency_window_start=start,
        attempts=current[0],
        errors=current[1],
        attempt_seconds=current[2],
        slowest_s=current[3],
        previous_attempts=previous[0],
        previous_errors=previous[1],
        previous_attempt_seconds=previous[2],
        previous_slowest_s=previous[3],
        last_latency_s=0.25,
        last_attempt_at=start + 10,
    )


def test_a_reading_in_the_stored_window_adds_it_to_the_one_before():
    reading = recent_latency(row(T0, (3, 1, 0.9, 0.5), previous=(1, 0, 0.3, 0.3)), now=T0 + 60)
    assert (reading.attempts, reading.errors) == (4, 1)
    assert reading.average_s == pytest.approx(0.3)
    assert reading.slowest_s == 0.5
    assert reading.span_s == WINDOW_S + 60  # from the previous window's start
    assert (reading.last_s, reading.last_age_s) == (0.25, 50)


def test_a_window_that_ended_without_a_newer_attempt_still_counts_as_the_previous_one():
    # Its own previous window is now two windows old: left out
    reading = recent_latency(row(T0, (2, 2, 4.0, 3.0), previous=(5, 0, 1.0, 0.9)), now=T0 + WINDOW_S + 1)
    assert (reading.attempts, reading.errors, reading.average_s, reading.slowest_s) == (2, 2, 2.0, 3.0)


def test_windows_older_than_the_previous_one_count_nothing_but_the_last_attempt_stays():
    reading = recent_latency(row(T0, (2, 1, 1.0, 0.8)), now=T0 + 2 * WINDOW_S)
    assert (reading.attempts, reading.errors, reading.average_s, reading.slowest_s) == (0, 0, None, None)
    assert reading.last_s == 0.25


def test_the_slowest_attempt_comes_only_from_windows_with_attempts():
    reading = recent_latency(row(T0, (1, 0, 0.2, 0.2), previous=(0, 0, 0, 0)), now=T0 + 1)
    assert reading.slowest_s == 0.2


def test_a_provider_never_called_reads_as_no_attempts():
    reading = recent_latency(ProviderState(provider="p"), now=T0)
    assert (reading.attempts, reading.average_s, reading.last_s, reading.last_age_s) == (0, None, None, None)


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('latency') / 'tickwork.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + 5)


@pytest.fixture
def latency(sqlite_url: str, clock: FakeClock) -> SharedLatency:
    shared = SharedLatency(make_engine(sqlite_url), clock=clock)
    with shared.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM provider_state")
    return shared


def stored(latency: SharedLatency) -> ProviderState:
    with Session(latency.engine) as session:
        found = session.get(ProviderState, "p")
        assert found is not None
        return found


def test_attempts_add_up_in_their_window_and_the_next_window_keeps_them_as_the_previous(latency, clock):
    # Given three attempts in one window, one of them failed
    for seconds, failed in ((0.1, False), (0.5, True), (0.3, False)):
        latency.record("p", seconds, failed=failed)
    # When two more come in the next window
    clock.now = T0 + WINDOW_S + 5
    latency.record("p", 0.2, failed=False)
    latency.record("p", 0.4, failed=True)
    # Then the row holds both windows, and a reading adds them up
    kept = stored(latency)
    assert (kept.attempts, kept.errors, kept.previous_attempts, kept.previous_errors) == (2, 1, 3, 1)
    assert kept.last_latency_s == 0.4 and kept.last_attempt_at == clock.now
    reading = recent_latency(kept, clock.now)
    assert (reading.attempts, reading.errors, reading.slowest_s) == (5, 2, 0.5)
    assert reading.average_s == pytest.approx(1.5 / 5)


def test_after_a_quiet_gap_the_first_attempt_drops_the_old_windows(latency, clock):
    latency.record("p", 2.0, failed=True)
    clock.now = T0 + 3 * WINDOW_S
    latency.record("p", 0.1, failed=False)
    kept = stored(latency)
    assert (kept.attempts, kept.errors, kept.slowest_s) == (1, 0, 0.1)
    assert (kept.previous_attempts, kept.previous_slowest_s) == (0, 0)


def test_every_process_adds_to_the_one_row(sqlite_url, latency, clock):
    other_process = SharedLatency(make_engine(sqlite_url), clock=clock)
    latency.record("p", 0.1, failed=False)
    other_process.record("p", 0.3, failed=False)
    assert (stored(latency).attempts, stored(latency).slowest_s) == (2, 0.3)
