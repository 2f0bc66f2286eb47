"""The shared rate budget's window arithmetic, with an injected clock, on a real SQLite database."""

from __future__ import annotations

import pytest

from services.errors import RateLimited
from services.market_data.rate_limit import Refusal, SharedRateLimit
from services.storage.db import make_engine
from services.storage.migrate import upgrade

MINUTE = 60.0
T0 = 28_000_000 * MINUTE  # the start of an epoch minute


class FakeClock:
    """Time that moves only when a test (or a sleep) moves it."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('rate') / 'tickwork.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + 15)


def limiter(url: str, clock: FakeClock, *, limit: int = 5, max_wait_s: float = 60.0) -> SharedRateLimit:
    return SharedRateLimit(
        make_engine(url), limits={"p": limit}, window_s=MINUTE, max_wait_s=max_wait_s, clock=clock, sleep=clock.sleep
    )


@pytest.fixture
def budget(sqlite_url: str, clock: FakeClock) -> SharedRateLimit:
    rate = limiter(sqlite_url, clock)
    with rate.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM provider_state")
    return rate


def test_windows_are_aligned_to_the_epoch_minute(budget):
    assert budget.window_of(T0) == T0
    assert budget.window_of(T0 + 59.999) == T0
    assert budget.window_of(T0 + 60) == T0 + 60


def test_a_window_spends_up_to_its_limit_then_says_to_wait_for_the_next_one(budget, clock):
    # Given a budget of 5 per minute, 15 s into a minute
    assert budget.try_acquire("p", 2) is None
    assert budget.try_acquire("p", 2) is None
    # When a call of cost 2 would overspend it, it waits 45 s; a call of cost 1 still fits
    assert budget.try_acquire("p", 2) == Refusal(45.0, "budget")
    assert budget.try_acquire("p", 1) is None
    assert budget.try_acquire("p", 1) == Refusal(45.0, "budget")
    # Then the next minute starts from zero
    clock.now = T0 + 60
    assert budget.try_acquire("p", 5) is None


def test_every_process_spends_from_one_budget(sqlite_url, budget, clock):
    # Two limiters on one database stand for two worker processes
    other = limiter(sqlite_url, clock)
    assert budget.try_acquire("p", 3) is None
    assert other.try_acquire("p", 3) is not None
    assert other.try_acquire("p", 2) is None
    assert budget.try_acquire("p", 1) is not None


def test_acquire_sleeps_until_the_next_window(budget, clock):
    budget.try_acquire("p", 5)
    waits: list[float] = []
    assert budget.acquire("p", 1, on_wait=waits.append) == 45.0
    assert waits == [45.0] == clock.slept
    assert clock.now == T0 + 60


def test_acquire_raises_rate_limited_when_the_wait_is_longer_than_allowed(sqlite_url, budget, clock):
    impatient = limiter(sqlite_url, clock, max_wait_s=10)
    impatient.try_acquire("p", 5)
    with pytest.raises(RateLimited) as raised:
        impatient.acquire("p", 1)
    assert raised.value.retry_after_s == 45.0
    assert clock.slept == []


def test_a_block_stops_every_caller_until_it_ends_and_is_never_shortened(budget, clock):
    budget.block("p", T0 + 30)
    budget.block("p", T0 + 20)  # an earlier end does not shorten it
    assert budget.try_acquire("p", 1) == Refusal(15.0, "blocked")
    clock.now = T0 + 30
    assert budget.try_acquire("p", 1) is None


def test_acquire_waits_out_a_short_block(budget, clock):
    budget.block("p", T0 + 17.5)
    assert budget.acquire("p", 1) == 2.5


def test_the_servers_count_raises_ours_but_never_lowers_it(budget, clock):
    budget.try_acquire("p", 2)
    budget.observe_used("p", 4)  # the server saw more (another client on our IP)
    assert budget.try_acquire("p", 2) is not None
    assert budget.try_acquire("p", 1) is None
    budget.observe_used("p", 1)
    assert budget.try_acquire("p", 1) is not None


def test_the_servers_count_of_a_new_window_replaces_the_old_windows(budget, clock):
    budget.try_acquire("p", 5)
    clock.now = T0 + 61
    budget.observe_used("p", 1)
    assert budget.try_acquire("p", 4) is None
    assert budget.try_acquire("p", 1) is not None


def test_exhaust_leaves_nothing_in_the_window(budget, clock):
    budget.exhaust("p")
    assert budget.try_acquire("p", 1) == Refusal(45.0, "budget")


def test_a_call_that_can_never_fit_is_a_programming_error(budget):
    with pytest.raises(ValueError):
        budget.try_acquire("p", 6)


def test_a_shorter_window_for_tests_aligns_the_same_way(sqlite_url, clock):
    quick = SharedRateLimit(make_engine(sqlite_url), limits={"q": 2}, window_s=2.0, clock=clock, sleep=clock.sleep)
    clock.now = T0 + 3.5
    assert quick.try_acquire("q", 2) is None
    assert quick.try_acquire("q", 1) == Refusal(0.5, "budget")
