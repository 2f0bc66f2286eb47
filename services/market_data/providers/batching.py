"""Cutting a list of symbols into the batches a provider's API accepts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def chunked(symbols: Sequence[str], size: int) -> Iterator[list[str]]:
    """`symbols` in order, `size` at a time, each symbol once."""
    unique = list(dict.fromkeys(symbols))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]
