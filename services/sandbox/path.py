"""A deterministic price path per symbol: multi-scale value noise on a clock counted in minutes.

The log price is a sum of levels; level k holds a hashed value every 2**k clock minutes and is
linear in between, with an amplitude growing as sqrt(2**k), so price changes over any lag have
about the variance of a random walk, yet the price at any instant costs O(levels) to compute and
stays within a realistic band forever (no drift to zero). The same arithmetic runs on scalars
(quotes) and on numpy arrays (bars), so a quote and the bar closing at the same instant agree.

Levels below `FINE_LEVELS` move within a 16-minute block; above it the path is piecewise linear
between multiples of 16 minutes, which bounds a long bar's high and low without visiting every minute.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

MASK = (1 << 64) - 1
FINE_LEVELS = 4  # levels 0..3: blocks of 1, 2, 4 and 8 minutes
COARSE_STEP = 1 << FINE_LEVELS  # the coarse part is linear between multiples of 16 clock minutes
WICK_LEVEL_HIGH = 60  # level numbers reserved for per-minute extras, far above any real level
WICK_LEVEL_LOW = 61
VOLUME_LEVEL = 62
GAP_LEVEL = 63
_GOLDEN = 0x9E3779B97F4A7C15
_LEVEL_MIX = 0xD6E8FEB86659FD93


def symbol_seed(symbol: str) -> int:
    """A stable 64-bit seed for one of our symbols (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=8).digest(), "big")


def _key(seed: int, level: int) -> int:
    return (seed ^ ((level + 1) * _LEVEL_MIX)) & MASK


def unit(seed: int, level: int, index: int) -> float:
    """A hashed uniform value in [0, 1) for (seed, level, index): splitmix64 of their mix."""
    z = (_key(seed, level) + (index & MASK) * _GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) * 2.0**-53


_U_GOLDEN, _U_MIX1, _U_MIX2 = np.uint64(_GOLDEN), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_U11, _U27, _U30, _U31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
SMALL = 6  # arrays up to this size are faster through the scalar code (numpy's per-call overhead)
CHUNK = 16384  # points per slice of the 2-D evaluation


def units(seed: int, level: int, index: np.ndarray) -> np.ndarray:
    """`unit` over an int64 array of indices, with the same bits."""
    return _hashed(np.uint64(_key(seed, level)), index)


def _hashed(key: np.ndarray | np.uint64, index: np.ndarray) -> np.ndarray:
    z = index.astype(np.uint64)
    z *= _U_GOLDEN
    z += key
    z ^= z >> _U30
    z *= _U_MIX1
    z ^= z >> _U27
    z *= _U_MIX2
    z ^= z >> _U31
    return (z >> _U11).astype(np.float64) * 2.0**-53


class PricePath:
    """The path of one symbol: `log_price(x)` for a clock reading x in minutes."""

    def __init__(self, symbol: str, *, base_price: float, sigma_per_minute: float, levels: int) -> None:
        self.seed = symbol_seed(symbol)
        self.log_base = math.log(base_price)
        self.levels = levels
        # Value noise of this shape has about 8/3 s^2 of variance per minute of lag (see module doc).
        scale = sigma_per_minute * math.sqrt(3 / 8)
        self.amplitudes = [scale * math.sqrt(2.0**k) * 2 for k in range(levels)]  # values are 2u-1
        self.fine_bound = sum(self.amplitudes[:FINE_LEVELS]) / 2  # each level lies within +-amplitude/2
        self.wick = sigma_per_minute * 0.6

    def log_price(self, x: float) -> float:
        total = self.log_base
        for k in range(self.levels):
            total += self._level(k, x)
        return total

    def coarse(self, x: float) -> float:
        """The part of `log_price` that is linear between multiples of COARSE_STEP."""
        total = self.log_base
        for k in range(FINE_LEVELS, self.levels):
            total += self._level(k, x)
        return total

    def _level(self, k: int, x: float) -> float:
        block = float(1 << k)
        position = x / block
        index = math.floor(position)
        fraction = position - index
        left = unit(self.seed, k, index) - 0.5
        right = unit(self.seed, k, index + 1) - 0.5
        return self.amplitudes[k] * (left + (right - left) * fraction)

    def log_prices(self, x: np.ndarray) -> np.ndarray:
        return self._sum(x, 0)

    def coarse_many(self, x: np.ndarray) -> np.ndarray:
        return self._sum(x, FINE_LEVELS)

    def _sum(self, x: np.ndarray, first_level: int) -> np.ndarray:
        if x.size <= SMALL:
            scalar = self.log_price if first_level == 0 else self.coarse
            return np.array([scalar(value) for value in x.tolist()], dtype=float)
        total = np.full(x.shape, self.log_base)
        # All levels at once as rows of 2-D arrays (numpy's per-call overhead dominates small
        # arrays), in slices so large requests stay small in memory; the rows are added in level
        # order, as the scalar code adds them, so both give the same bits.
        levels = np.arange(first_level, self.levels)
        blocks = np.ldexp(1.0, levels)[:, None]
        amplitudes = np.array(self.amplitudes[first_level:])[:, None]
        keys = np.array([_key(self.seed, int(k)) for k in levels], dtype=np.uint64)[:, None]
        flat = x.reshape(-1)
        out = total.reshape(-1)
        for begin in range(0, flat.size, CHUNK):
            part = flat[begin : begin + CHUNK]
            position = part[None, :] / blocks
            index = np.floor(position)
            fraction = position - index
            index_int = index.astype(np.int64)
            left = _hashed(keys, index_int) - 0.5
            right = _hashed(keys, index_int + 1) - 0.5
            contributions = amplitudes * (left + (right - left) * fraction)
            chunk_total = out[begin : begin + CHUNK]
            for row in contributions:
                chunk_total += row
        return total

    def extras(self, level: int, index: np.ndarray) -> np.ndarray:
        """Per-minute hashed values in [0, 1) for wicks and volume."""
        return units(self.seed, level, index)
