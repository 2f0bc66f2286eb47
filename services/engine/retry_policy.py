"""How often and how late a failed task is tried again."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import DataError

from services.errors import NonRetryableError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits first_delay * 2**n (plus up to `jitter` of it),
    never more than max_delay."""

    max_retries: int = 3
    first_delay_s: float = 60.0
    max_delay_s: float = 3600.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.first_delay_s < 0 or self.max_delay_s < self.first_delay_s:
            raise ValueError(f"incoherent retry policy: {self}")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay_s(self, retries_so_far: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait before the retry that follows `retries_so_far` earlier retries."""
        base = min(self.first_delay_s * 2**retries_so_far, self.max_delay_s)
        spread = base * self.jitter * (rng or random).random()
        # Jitter spreads a burst of failures apart; the cap still holds after it.
        return min(base + spread, self.max_delay_s)

    def overridden(self, overrides: dict[str, Any] | None) -> RetryPolicy:
        """This policy with the fields a sender overrode for one message (unknown keys are refused)."""
        if not overrides:
            return self
        unknown = set(overrides) - {"max_retries", "first_delay_s", "max_delay_s", "jitter"}
        if unknown:
            raise ValueError(f"unknown retry option(s): {sorted(unknown)}")
        return replace(self, **overrides)

    def as_options(self) -> dict[str, Any]:
        """This policy as a JSON-serialisable dict (the form a message option carries)."""
        return {
            "max_retries": self.max_retries,
            "first_delay_s": self.first_delay_s,
            "max_delay_s": self.max_delay_s,
            "jitter": self.jitter,
        }


# What is never retried: our own verdicts, and a value the database refuses to store or compare (an
# integer out of its column's range, a NUL in text): the same message meets the same refusal.
NOT_RETRYABLE: tuple[type[BaseException], ...] = (NonRetryableError, DataError)


def is_retryable(error: BaseException) -> bool:
    """Whether retrying the message that raised `error` could succeed."""
    return not isinstance(error, NOT_RETRYABLE)
