"""Tickwork's benchmark: `python -m bench.run` (see docs/benchmarks.md for what it measures and why)."""
