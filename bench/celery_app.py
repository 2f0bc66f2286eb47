"""The Celery comparison: a no-op task, acks late, on the same RabbitMQ virtual host.

    celery -A bench.celery_app worker -P prefork -c 16
    celery -A bench.celery_app worker -P threads -c 8   (two of them, -n a@%h and -n b@%h)

`task_acks_late` acknowledges after the task ran, like Dramatiq (at-least-once), and a prefetch
multiplier of 1 is what Celery's documentation recommends with it, so neither side is given a
deeper prefetch than the other (Dramatiq prefetches 2 per thread, Tickwork 1). No result backend.
"""

from __future__ import annotations

import os

from celery import Celery

from bench.stamps import stamp

QUEUE = "bench_celery"
TASK = "bench.celery_noop"

app = Celery("bench", broker=os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"))
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    result_backend=None,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name=TASK)
def celery_noop() -> None:
    stamp()
