"""Probe actors for the engine's tests and benchmarks: they do no domain work, only record that
they ran. They live with the tests, never in the product; a worker loads them with
`dramatiq actors tests.support.probe_actors`.

Each run appends one JSON line to the file named by PROBE_LOG (O_APPEND writes of one short line
are atomic across processes).
"""

from __future__ import annotations

import json
import logging
import os
import time

from dramatiq.middleware import CurrentMessage

import tests.support.probe_contract  # noqa: F401  (the probes' contract entries)
from actors.declare import contract_actor
from actors.task_context import current_task
from services.errors import NonRetryableError


class ProbeRefused(NonRetryableError):
    """Raised when a probe is told to fail in a way retries cannot fix."""


def _record(actor: str, tag: str, **extra: object) -> None:
    message = CurrentMessage.get_current_message()
    line = {
        "actor": actor,
        "tag": tag,
        "pid": os.getpid(),
        "t": time.time(),
        "message_id": message.message_id if message else None,
        "retries": message.options.get("retries", 0) if message else 0,
        **extra,
    }
    path = os.environ.get("PROBE_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)


@contract_actor
def probe_record(tag: str, sleep_ms: int = 0) -> None:
    _record("probe_record", tag, event="start")
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    _record("probe_record", tag, event="done")


@contract_actor
def probe_order(tag: str, sleep_ms: int = 0) -> None:
    _record("probe_order", tag, event="start")
    if sleep_ms:
        time.sleep(sleep_ms / 1000)


@contract_actor
def probe_flaky(tag: str, fail_times: int) -> None:
    message = CurrentMessage.get_current_message()
    attempt = message.options.get("retries", 0) if message else 0
    _record("probe_flaky", tag, event="attempt")
    if attempt < fail_times:
        raise ConnectionError(f"transient failure {attempt + 1} of {fail_times}")


@contract_actor
def probe_fatal(tag: str, sleep_ms: int = 0) -> None:
    _record("probe_fatal", tag, event="attempt")
    raise ProbeRefused(f"probe {tag} refuses to run")


@contract_actor
def probe_progress(tag: str, steps: int, sleep_ms: int = 0) -> dict:
    for step in range(steps):
        current_task().progress(step / steps, f"step {step + 1} of {steps}")
        logging.getLogger("probe").info("line %d of %s", step + 1, tag)
        time.sleep(sleep_ms / 1000)
    _record("probe_progress", tag, event="done")
    return {"steps": steps}


@contract_actor
def probe_busy(tag: str, seconds: float) -> None:
    """Works in small slices without ever checking for cancellation: only forcible interruption stops it."""
    _record("probe_busy", tag, event="start")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    _record("probe_busy", tag, event="done")


@contract_actor
def probe_cooperative(tag: str, seconds: float) -> None:
    """Reports progress between slices of work: cancellation stops it there."""
    _record("probe_cooperative", tag, event="start")
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        current_task().progress(elapsed / seconds, "working")
        time.sleep(0.05)
    _record("probe_cooperative", tag, event="done")


@contract_actor
def probe_effect(tag: str, sleep_ms: int = 0, database: bool = False) -> None:
    """An idempotent domain effect: a file named by the message id, created at most once (O_EXCL),
    in PROBE_EFFECTS. With `database`, it reads the database first, so a database outage fails it
    (and it is retried)."""
    _record("probe_effect", tag, event="start")
    if database:
        _database_round_trip()
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    message = CurrentMessage.get_current_message()
    folder = os.environ.get("PROBE_EFFECTS")
    if folder and message is not None:
        try:
            os.close(os.open(os.path.join(folder, message.message_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            _record("probe_effect", tag, event="already_applied")
    _record("probe_effect", tag, event="done")


_engine = None


def _database_round_trip() -> None:
    global _engine
    import sqlalchemy

    from services.storage.db import make_engine

    if _engine is None:
        _engine = make_engine(os.environ["DATABASE_URL"])
    with _engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT 1"))
