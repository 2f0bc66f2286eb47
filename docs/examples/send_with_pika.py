"""Send a Tickwork message from any service with nothing but pika (no Tickwork import).

    python docs/examples/send_with_pika.py [AMQP_URL]

The same steps work from any language with an AMQP 0-9-1 client: build the JSON envelope, publish it
to the default exchange with the queue name as routing key, persistent, with the AMQP priority, and
wait for the publisher confirm.
"""

import json
import sys
import time
import uuid

import pika

PRIORITIES = {"low": 0, "normal": 1, "high": 2, "critical": 3}


def main(url: str) -> str:
    message_id = str(uuid.uuid4())
    envelope = {
        "queue_name": "refresh",  # from docs/schemas/contract.json
        "actor_name": "fetch_market_data",
        "args": [],  # always empty: actors take keyword arguments
        "kwargs": {"symbols": ["AAPL", "MSFT"], "interval": "1d", "start": "2026-01-02"},
        "options": {"broker_priority": PRIORITIES["high"]},  # keeps the priority on retries
        "message_id": message_id,  # your id: Tickwork keys the task by it
        "message_timestamp": int(time.time() * 1000),
    }
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()  # basic_publish now raises unless RabbitMQ confirmed the message
    channel.basic_publish(
        exchange="",
        routing_key=envelope["queue_name"],
        body=json.dumps(envelope).encode("utf-8"),
        properties=pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,  # persistent
            priority=PRIORITIES["high"],
            message_id=message_id,
        ),
        mandatory=True,  # fail if the queue does not exist (no Tickwork worker or client has declared it)
    )
    connection.close()
    return message_id


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/%2F"))
