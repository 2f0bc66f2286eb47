"""Per-thread metric tallies add up exactly, whatever the threads, and each flush writes only what changed."""

from __future__ import annotations

import threading

from actors.middleware.tally import Histogram, Layout, Tally

LAYOUT = Layout(counters=("started", "finished"), histograms=(("wait", (0.1, 1.0)),))
STARTED, FINISHED = LAYOUT.index("started"), LAYOUT.index("finished")
WAIT = Histogram(LAYOUT, "wait")


def recording_tally() -> tuple[Tally, list[tuple[str, list[float]]]]:
    written: list[tuple[str, list[float]]] = []
    return Tally(LAYOUT, lambda key, delta: written.append((key, list(delta)))), written


def test_counts_from_many_threads_add_up_exactly():
    # Given 8 threads each counting 10,000 events on one series
    tally, written = recording_tally()

    def work() -> None:
        for _ in range(10_000):
            tally.row("refresh")[STARTED] += 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # When flushed
    tally.flush()
    # Then one write carries the exact total
    assert written == [("refresh", [80_000, 0, 0, 0, 0, 0])]


def test_each_flush_writes_only_the_change_since_the_last():
    tally, written = recording_tally()
    tally.row("refresh")[STARTED] += 2
    tally.flush()
    tally.flush()  # nothing new: nothing written
    tally.row("refresh")[FINISHED] += 1
    tally.flush()
    assert written == [("refresh", [2, 0, 0, 0, 0, 0]), ("refresh", [0, 1, 0, 0, 0, 0])]


def test_histogram_counts_each_value_in_its_prometheus_bucket():
    # Prometheus buckets are "value <= bound", with +Inf last: (0.1, 1.0, +Inf)
    tally, written = recording_tally()
    row = tally.row("refresh")
    for value in (0.05, 0.1, 0.5, 1.0, 7.0):
        WAIT.observe(row, value)
    tally.flush()
    ((_key, delta),) = written
    assert delta[WAIT.sum_at] == 0.05 + 0.1 + 0.5 + 1.0 + 7.0
    assert delta[WAIT.sum_at + 1 :] == [2, 2, 1]
