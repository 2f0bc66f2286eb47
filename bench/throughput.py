"""Throughput of no-op messages: Tickwork, bare Dramatiq and Celery, each on 16 concurrent slots.

Each run pre-loads the queue, starts the workers, and times from the first message completed to the
last (worker start-up is not counted; it is reported apart as "start-up to drain").
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.procs import CELERY, DRAMATIQ, Group, busy_cpu_seconds, cpu_seconds
from bench.stamps import count_stamps, read_stamps
from services.contract.envelope import encode, new_message
from services.engine.client import declare_topology

STALL_S = 60  # no completion for this long means a run is broken, not slow


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    queue: str
    commands: list[list[str]]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def shell(self) -> str:
        """The command line(s) as a user would type them."""
        prefix = "".join(f"{key}={value} " for key, value in self.env.items())
        return " & ".join(prefix + " ".join([Path(c[0]).name, *c[1:]]) for c in self.commands)


def celery_worker(pool: str, concurrency: int, name: str) -> list[str]:
    return [
        CELERY,
        "-A",
        "bench.celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "--loglevel",
        "WARNING",
    ]


TICKWORK = [DRAMATIQ, "bench.tickwork_noop", "-p", "2", "-t", "8"]
SETUPS = [
    Setup("dramatiq", "bare Dramatiq", "bench_bare", [[DRAMATIQ, "bench.bare_dramatiq", "-p", "2", "-t", "8"]]),
    Setup("tickwork", "Tickwork", "refresh", [TICKWORK]),
    # Not a target: the same stack without the task ledger, to show what the ledger costs.
    Setup("tickwork-noledger", "Tickwork, ledger off", "refresh", [TICKWORK], {"TICKWORK_LEDGER_ENABLED": "false"}),
    Setup("celery-prefork", "Celery prefork", "bench_celery", [celery_worker("prefork", 16, "prefork")]),
    Setup(
        "celery-threads",
        "Celery threads",
        "bench_celery",
        [celery_worker("threads", 8, "threads-a"), celery_worker("threads", 8, "threads-b")],
    ),
]


def declare(ctx: Context) -> None:
    """Declare each framework's queue as that framework would, before anything is published to it."""
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    declare_topology(ctx.rabbit.channel)
    stock = RabbitmqBroker(url=ctx.url)  # bare Dramatiq's arguments; not made the global broker
    stock.declare_queue("bench_bare", ensure=True)
    stock.close()
    from bench.celery_app import app

    app.conf.broker_url = ctx.url
    with app.connection_for_write() as connection:
        app.amqp.queues[app.conf.task_default_queue].bind(connection.default_channel).declare()


def preload(ctx: Context, setup: Setup, n: int) -> None:
    ctx.rabbit.purge(setup.queue)
    if setup.key.startswith("tickwork"):
        # The client's envelope, published without per-message confirms so that loading is quick.
        from bench.contract import NOOP

        bodies = (encode(new_message(NOOP, {})) for _ in range(n))
        ctx.rabbit.preload("refresh", bodies, priority=NOOP.priority.amqp)
    elif setup.key == "dramatiq":
        bodies = (_dramatiq_body() for _ in range(n))
        ctx.rabbit.preload("bench_bare", bodies)
    else:
        from bench.celery_app import app, celery_noop

        with app.producer_or_acquire() as producer:
            for _ in range(n):
                celery_noop.apply_async(producer=producer)
        ctx.rabbit.wait_depth("bench_celery", n)


def _dramatiq_body() -> bytes:
    message = {
        "queue_name": "bench_bare",
        "actor_name": "bare_noop",
        "args": [],
        "kwargs": {},
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }
    return json.dumps(message, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Snapshot:
    """Completions and CPU seconds at one poll: the workers, RabbitMQ (beam.smp), PostgreSQL (the
    ledger's server, whoever else uses it) and the whole machine."""

    done: int
    at: float
    workers: float
    rabbitmq: float
    postgres: float
    machine: float

    @classmethod
    def take(cls, done: int, groups: list[Group]) -> Snapshot:
        workers = sum(cpu_seconds(session=group.process.pid) for group in groups)
        rabbitmq, postgres = cpu_seconds(command="beam.smp"), cpu_seconds(command="postgres")
        return cls(done, time.monotonic(), workers, rabbitmq, postgres, busy_cpu_seconds())


def run(ctx: Context, setup: Setup, n: int) -> dict[str, Any]:
    """One timed drain of `n` pre-loaded messages."""
    preload(ctx, setup, n)
    stamps, marks = ctx.new_run(setup.key)
    started = time.time()
    groups = [
        ctx.start(f"{setup.key}-{i}", command, stamps, marks, setup.env)[0] for i, command in enumerate(setup.commands)
    ]
    try:
        done, progress_at, first = 0, time.monotonic(), None
        while done < n:
            time.sleep(0.02)
            for group in groups:
                group.check_alive()
            count = count_stamps(stamps)
            if count > done:
                done, progress_at = count, time.monotonic()
                first = first or Snapshot.take(done, groups)
            elif time.monotonic() - progress_at > STALL_S:
                raise RuntimeError(f"{setup.label}: stuck at {done}/{n} completions")
        last = Snapshot.take(done, groups)
        assert first is not None  # done >= n > 0, so a poll saw a completion
        time.sleep(0.5)  # a redelivered duplicate would show up now
    finally:
        for group in groups:
            group.stop()
    times = read_stamps(stamps)
    left = ctx.rabbit.depth(setup.queue)[0]
    if len(times) != n or left:
        raise RuntimeError(f"{setup.label}: {len(times)} completions for {n} messages, {left} left in the queue")
    first_to_last = times[-1] - times[0]
    # The middle 80% of completions, once every process is up and before the last threads run dry.
    lo, hi = times[int(0.1 * n)], times[int(0.9 * n) - 1]
    # CPU between the first poll that saw a completion and the poll that saw the last one.
    measured = max(last.done - first.done, 1)
    workers, rabbitmq, postgres = (getattr(last, k) - getattr(first, k) for k in ("workers", "rabbitmq", "postgres"))
    return {
        "first_to_last_s": first_to_last,
        "rate": (n - 1) / first_to_last,
        "steady_rate": (int(0.9 * n) - 1 - int(0.1 * n)) / (hi - lo),
        "startup_to_drain_s": times[-1] - started,
        "worker_cpu_us": workers / measured * 1e6,
        "rabbitmq_cpu_us": rabbitmq / measured * 1e6,
        "postgres_cpu_us": postgres / measured * 1e6,
        # Cores kept busy by anything else meanwhile (other users of the machine, this runner's polling).
        "other_cores": (last.machine - first.machine - workers - rabbitmq - postgres) / max(last.at - first.at, 1e-3),
    }
