"""32 callers at once through `tickwork api`, across a broker restart: a 201 is queued and recorded, once.

The API's requests share one client (its confirm stream) and their ledger and audit commits
(services/engine/group_commit.py, services/storage/group_commit.py); what one request is told must
still be its own: its id, confirmed by RabbitMQ and committed in the ledger before the answer.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.ledger import all_tasks
from tests.support.rabbit import copies_in_queue, have_rabbitmqctl, restart_broker

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

CLIENTS = 32
TASK = {"actor": "probe_record", "parameters": {"tag": "concurrent"}}


@pytest.mark.restarts_broker
@pytest.mark.skipif(not have_rabbitmqctl(), reason="restarts the local broker with rabbitmqctl")
def test_every_201_from_32_concurrent_callers_is_queued_and_recorded_once_across_a_broker_restart(
    broker_to_itself, api, database_url, rabbit_url
):
    # Given 32 callers submitting steadily, each on its own keep-alive connection
    token = api.token("create")
    answered: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def caller() -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            while not stop.is_set():
                reply = http.post(f"{api.url}/api/v1/tasks", json=TASK, timeout=60)
                if reply.status_code == 201:
                    answered.append(reply.json()["task_id"])
                else:  # a 503 is allowed while the broker is away: nothing was sent for it
                    refused.append(f"{reply.status_code} {reply.text[:200]}")

    callers = [threading.Thread(target=caller) for _ in range(CLIENTS)]
    for thread in callers:
        thread.start()
    time.sleep(1.5)
    # When RabbitMQ stops and starts under them
    restart_broker(down_s=1)
    time.sleep(2)
    stop.set()
    for thread in callers:
        thread.join(timeout=90)

    # Then every id answered 201 is a different task, queued, and recorded once in the ledger
    copies = copies_in_queue(rabbit_url)
    queued = list(copies.elements())
    assert len(answered) > CLIENTS, f"too few answers to say anything: {len(answered)}; refused {refused[:3]}"
    assert len(set(answered)) == len(answered)
    assert set(answered) <= set(queued)
    recorded = [task.message_id for task in all_tasks(database_url)]
    assert len(recorded) == len(set(recorded)) and set(answered) <= set(recorded)
    # and nothing refused was queued: a 503 is a task that was not sent
    assert all(reply.startswith("503") for reply in refused), refused[:3]
    assert set(queued) <= set(recorded)  # nothing was queued that the ledger does not know
    twice = len(queued) - len(set(queued))
    print(f"answered {len(answered)}, refused {len(refused)}, queued {len(queued)} ({twice} twice)")
