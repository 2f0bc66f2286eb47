"""Tickwork's domain side: contract, client, settings, storage and (later) the domain services.

Nothing here imports Dramatiq or periodiq: the dependency arrow points from `actors` to `services`.
"""
