"""The baseline: a no-op actor on a stock RabbitmqBroker with Dramatiq's default middleware.

`dramatiq bench.bare_dramatiq -p 2 -t 8`. Its queue is `bench_bare`, not `refresh`: Dramatiq declares
queues with other arguments than Tickwork's, and RabbitMQ refuses a re-declaration that differs.
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from bench.stamps import stamp

QUEUE = "bench_bare"
ACTOR = "bare_noop"

broker = RabbitmqBroker(url=os.environ["RABBITMQ_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE)
def bare_noop() -> None:
    stamp()
