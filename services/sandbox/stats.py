"""Every provider request the sandbox answered, so tests can count calls and check minute budgets."""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

MAX_RECORDS = 500_000  # older records are dropped past this


@dataclass(frozen=True)
class Record:
    at: float  # arrival, epoch seconds (wall clock, not the market's)
    provider: str
    path: str
    query: str
    status: int
    weight: int  # Binance's request weight; 1 elsewhere
    duration_ms: float


class Stats:
    """The request log. A reset starts a new generation: a request that arrived before it (one a
    `timeout` fault kept waiting, say) is not counted when it finally answers, after the reset."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self.generation = 0

    def record(self, record: Record, *, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._records.append(record)
            if len(self._records) > MAX_RECORDS:
                del self._records[: MAX_RECORDS // 10]

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self.generation += 1

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def as_json(self, *, detail: bool) -> dict[str, Any]:
        """Per provider: totals, by path and status, and the busiest minute (calendar and sliding)."""
        records = self.records()
        by_provider: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            by_provider[record.provider].append(record)
        providers = {name: _summary(rows) for name, rows in by_provider.items()}
        out: dict[str, Any] = {"total": len(records), "providers": providers}
        if detail:
            out["requests"] = [
                {
                    "at": r.at,
                    "provider": r.provider,
                    "path": r.path,
                    "query": r.query,
                    "status": r.status,
                    "weight": r.weight,
                    "duration_ms": round(r.duration_ms, 3),
                }
                for r in records
            ]
        return out


def _summary(rows: list[Record]) -> dict[str, Any]:
    times = sorted(r.at for r in rows)
    per_minute = Counter(math.floor(t / 60) for t in times)
    weight_per_minute: Counter[int] = Counter()
    for r in rows:
        weight_per_minute[math.floor(r.at / 60)] += r.weight
    return {
        "requests": len(rows),
        "by_path": dict(Counter(r.path for r in rows)),
        "by_status": {str(k): v for k, v in Counter(r.status for r in rows).items()},
        "first_at": times[0],
        "last_at": times[-1],
        "max_per_minute": max(per_minute.values()),  # in one calendar minute (how the limits count)
        "max_in_60s": _max_in_window(times, 60.0),  # in any sliding 60 s
        "max_weight_per_minute": max(weight_per_minute.values()),
    }


def _max_in_window(times: list[float], window: float) -> int:
    best, left = 0, 0
    for right, t in enumerate(times):
        while t - times[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best
