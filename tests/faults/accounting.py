"""Exact accounting of every message id a fault test sent: final ledger state, runs, effects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from services.storage.db import session_scope
from services.storage.models import Task
from tests.support.workers import read_probe_log


def ledger_states(database_url: str, message_ids: set[str]) -> dict[str, str]:
    with session_scope(database_url) as session:
        rows = session.exec(select(Task.message_id, Task.state).where(col(Task.message_id).in_(message_ids))).all()
    return dict(rows)


def stuck_rows(database_url: str) -> list[tuple[str, str, str | None]]:
    """Every row anywhere in the ledger not final: `pending`, `running` or `retrying`."""
    with session_scope(database_url) as session:
        query = select(Task.message_id, Task.state, Task.error_type).where(
            col(Task.state).in_(["running", "retrying", "pending"])
        )
        return list(session.exec(query).all())


def account(*, sent: list[str], database_url: str, probe_log: Path, effects: Path) -> dict[str, Any]:
    """What became of each sent message id: states, runs (probe `start`s), effects applied."""
    ids = set(sent)
    states = ledger_states(database_url, ids)
    runs = Counter(r["message_id"] for r in read_probe_log(probe_log) if r["event"] == "start")
    applied = {p.name for p in effects.iterdir()} if effects.exists() else set()
    return {
        "sent": len(sent),
        "distinct_ids": len(ids),
        "completed": sum(1 for s in states.values() if s == "completed"),
        "states": dict(Counter(states.values())),
        "rows_missing": len(ids - set(states)),
        "lost": len(ids) - sum(1 for s in states.values() if s == "completed"),
        "stuck": len(stuck_rows(database_url)),
        "never_ran": len(ids - set(runs)),
        "ran_twice_or_more": sum(1 for mid in ids if runs[mid] > 1),
        "effects_applied": len(applied & ids),
        "effects_unexpected": len(applied - ids),
    }


def queue_depths(rabbit_url: str) -> dict[str, int]:
    """Messages left in `refresh` and its dead-letter queue, on a fresh connection (a test's own may
    have missed its heartbeats while the test waited)."""
    from tests.support.rabbit import Rabbit

    rabbit = Rabbit(rabbit_url)
    try:
        return {"queue_left": rabbit.depth("refresh"), "dead_letters": rabbit.depth("refresh.XQ")}
    finally:
        rabbit.close()


def starts_by_message(probe_log: Path) -> dict[str, list[dict[str, Any]]]:
    """Each message id's probe `start` records (wall time `t`, `pid`), in the order they ran."""
    starts: dict[str, list[dict[str, Any]]] = {}
    for record in read_probe_log(probe_log):
        if record["event"] == "start":
            starts.setdefault(record["message_id"], []).append(record)
    return starts


def reruns_started_after(probe_log: Path, moment: float) -> list[str]:
    """Messages run more than once whose first run started after `moment` (wall time): none of them
    can have been unacknowledged work of a connection lost before then."""
    return [mid for mid, runs in starts_by_message(probe_log).items() if len(runs) > 1 and runs[0]["t"] > moment]
