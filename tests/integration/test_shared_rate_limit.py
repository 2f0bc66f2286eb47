"""One rate budget for every worker process: several OS processes call Yahoo through the shared budget,
and the sandbox's own request log shows no budget window with more requests than the budget.

The window is shortened to 2 s (the budget is a parameter of its length), so four windows take 8 s.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections import Counter
from typing import Any

import pytest

from services.market_data.providers import open_providers
from services.settings import Settings

PROCESSES = 4
CALLS_EACH = 10
LIMIT = 10  # requests per window, for all processes together
WINDOW_S = 2.0

pytestmark = pytest.mark.both_databases


def call_yahoo(sandbox_url: str, database_url: str, ready: Any, go: Any, results: Any) -> None:
    """One worker process: quotes of one symbol, CALLS_EACH times, through the shared budget."""
    settings = Settings(
        database_url=database_url,
        tickwork_market_data="sandbox",
        tickwork_sandbox_url=sandbox_url,
        tickwork_yahoo_requests_per_minute=LIMIT,
    )
    with open_providers(settings, window_s=WINDOW_S, max_wait_s=60) as providers:
        ready.put(True)
        go.wait(30)
        priced = sum(1 for _ in range(CALLS_EACH) if "AAPL" in providers["yahoo"].quotes(["AAPL"]).quotes)
    results.put(priced)


def test_processes_sharing_a_budget_never_exceed_it_in_any_window(sandbox, database_url):
    # Given four processes, each with its own providers on one database, ready to call
    spawn = multiprocessing.get_context("spawn")
    ready, results, go = spawn.Queue(), spawn.Queue(), spawn.Event()
    workers = [
        spawn.Process(target=call_yahoo, args=(sandbox.url, database_url, ready, go, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        sandbox.reset_stats()
        # When they all start at once, just after a window opens
        time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)
        started = time.time()
        go.set()
        priced = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    # Then every call was answered
    assert priced == [CALLS_EACH] * PROCESSES
    # And the sandbox saw at most LIMIT requests in each window, the budget being used to the full
    arrivals = [r["at"] for r in sandbox.stats(detail=True)["requests"] if r["provider"] == "yahoo"]
    per_window = Counter(math.floor(at / WINDOW_S) for at in arrivals)
    assert len(arrivals) == PROCESSES * CALLS_EACH
    assert max(per_window.values()) == LIMIT, sorted(per_window.items())
    assert len(per_window) == PROCESSES * CALLS_EACH // LIMIT
    # Which took as long as the budget demands: the calls waited for the windows to turn
    assert time.time() - started >= (PROCESSES * CALLS_EACH // LIMIT - 1) * WINDOW_S
