"""The message engine: topology and priorities, retry and time-limit classes, long delays, the client
with publisher confirms, cancellation, dead letters, the worker registry, queue statistics, health.

The domains (market data, portfolio, maintenance, notifications, trading) sit beside it as peers.
"""
