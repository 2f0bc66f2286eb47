"""Faults a test (or an operator) injects: `POST /_sandbox/faults`, cleared by `DELETE /_sandbox/faults`.

Each rule names a provider, a mode, how many requests it hits (`count`, None = until cleared) and
optionally a substring the request's path and query must contain. The first live rule wins.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

from services.sandbox.config import PROVIDERS, ConfigError

MODES = ("http_500", "http_503", "timeout", "rate_limit", "error_in_200", "slow")
DELAYED = ("timeout", "slow")  # these answer normally, only late


@dataclass
class Fault:
    id: int
    provider: str
    mode: str
    count: int | None = None
    path: str | None = None
    delay_s: float = 0.0  # "timeout" and "slow": how long to wait before answering
    retry_after_s: int = 1  # "rate_limit": the Retry-After sent
    hits: int = 0


class Faults:
    """The active rules, thread-safe."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> Fault:
        provider, mode = spec.get("provider"), spec.get("mode")
        if provider not in PROVIDERS:
            raise ConfigError(f"provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        unknown = set(spec) - {"provider", "mode", "count", "path", "delay_s", "retry_after_s"}
        if unknown:
            raise ConfigError(f"unknown fault fields: {sorted(unknown)}")
        count, path = spec.get("count"), spec.get("path")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ConfigError("count must be a positive integer or null")
        if path is not None and not isinstance(path, str):
            raise ConfigError("path must be a string (a part of the request's path and query) or null")
        delay = spec.get("delay_s", 30.0 if mode == "timeout" else 1.0 if mode == "slow" else 0.0)
        retry_after = spec.get("retry_after_s", 1)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ConfigError("delay_s must be a number >= 0")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ConfigError("retry_after_s must be an integer >= 0")
        fault = Fault(next(self._ids), provider, mode, count, path, float(delay), retry_after)
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, provider: str, target: str) -> Fault | None:
        """The rule that hits this request (path and query in `target`), counting the hit."""
        with self._lock:
            for fault in self._rules:
                if fault.provider == provider and (fault.path is None or fault.path in target):
                    fault.hits += 1
                    if fault.count is not None and fault.hits >= fault.count:
                        self._rules.remove(fault)
                    return fault
        return None

    def clear(self, provider: str | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [f for f in self._rules if provider is not None and f.provider != provider]
            return before - len(self._rules)

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._rules]
