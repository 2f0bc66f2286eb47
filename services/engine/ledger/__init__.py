"""The task ledger: a row per task with its state, progress, logs, error and result.

Workers write it through `LedgerWriter` (batched, off the hot path); the CLI and API read and change
it through `services.engine.ledger.tasks`.
"""
