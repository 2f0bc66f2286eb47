"""Per-message metric updates at the cost of a few list increments.

Writing a multiprocess Prometheus value takes the library's process-wide lock and a write to its
memory-mapped file, a few microseconds each; a no-op message updates about a dozen of them. Here each
worker thread adds to its own plain lists (no lock: only that thread writes them), and one
background thread adds what changed to the Prometheus values a few times a second. Scrapes see the
counts at most one flush interval late; in-flight gauges are started minus finished.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tickwork.metrics")


@dataclass(frozen=True)
class Layout:
    """Where each number of one series' row lives: plain counters first, then each histogram as
    its sum followed by one count per bucket (the last bucket is +Inf)."""

    counters: tuple[str, ...]
    histograms: tuple[tuple[str, tuple[float, ...]], ...]

    def __post_init__(self) -> None:
        offsets: dict[str, int] = {name: i for i, name in enumerate(self.counters)}
        position = len(self.counters)
        for name, bounds in self.histograms:
            offsets[name] = position
            position += 1 + len(bounds) + 1
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "width", position)

    def index(self, name: str) -> int:
        return self.offsets[name]  # type: ignore[attr-defined]

    def new_row(self) -> list[float]:
        return [0] * self.width  # type: ignore[attr-defined]


class Histogram:
    """One histogram of a layout: `observe(row, value)` adds to the sum and to the value's bucket."""

    def __init__(self, layout: Layout, name: str) -> None:
        self.bounds = dict(layout.histograms)[name]
        self.sum_at = layout.index(name)

    def observe(self, row: list[float], value: float) -> None:
        row[self.sum_at] += value
        # Prometheus buckets are "value <= bound"; the last slot is +Inf.
        row[self.sum_at + 1 + bisect.bisect_left(self.bounds, value)] += 1


class Tally:
    """Rows of numbers per series key, one set per thread, added up by `flush`.

    `apply(key, delta)` receives, per key whose numbers changed since the last flush, the change
    of each number (a list in the layout's order) and writes it to Prometheus.
    """

    def __init__(self, layout: Layout, apply: Callable[[Any, Sequence[float]], None]) -> None:
        self.layout = layout
        self._apply = apply
        self._local = threading.local()
        self._threads: list[dict[Any, list[float]]] = []
        self._register = threading.Lock()
        self._flushed: dict[Any, list[float]] = {}
        self._flush_lock = threading.Lock()

    def row(self, key: Any) -> list[float]:
        """This thread's row for `key`; only this thread may add to it."""
        rows = getattr(self._local, "rows", None)
        if rows is None:
            rows = self._local.rows = {}
            with self._register:
                self._threads.append(rows)
        row = rows.get(key)
        if row is None:
            row = rows[key] = self.layout.new_row()
        return row

    def flush(self) -> None:
        """Write what every thread added since the last flush."""
        with self._flush_lock:
            totals: dict[Any, list[float]] = {}
            with self._register:
                threads = list(self._threads)
            for rows in threads:
                for key, row in list(rows.items()):
                    total = totals.get(key)
                    if total is None:
                        totals[key] = list(row)
                    else:
                        for i, value in enumerate(row):
                            total[i] += value
            for key, total in totals.items():
                before = self._flushed.get(key)
                delta = total if before is None else [now - then for now, then in zip(total, before, strict=True)]
                if any(delta):
                    self._apply(key, delta)
                self._flushed[key] = total


class Flusher:
    """Calls each tally's `flush` every `interval_s` from a daemon thread, and once more on `stop`."""

    def __init__(self, tallies: Sequence[Tally], *, interval_s: float) -> None:
        self.tallies = tallies
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="metrics-flusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def flush(self) -> None:
        for tally in self.tallies:
            try:
                tally.flush()
            except Exception:  # a metrics hiccup must never stop the worker; the next flush catches up
                log.exception("metrics_flush_failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()
