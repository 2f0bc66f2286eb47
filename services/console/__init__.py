"""The operator console: web pages over the ledger, dead letters, schedules, workers and market data."""
