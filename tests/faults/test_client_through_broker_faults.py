"""The client publishing through a RabbitMQ restart and through a memory alarm (publishers blocked):
`send` waits, or fails clearly within its timeout; no confirmed message is lost, and none is sent twice
but the one a restart caught awaiting its confirm (RabbitMQ had it; the client cannot know).

Every message id is accounted for afterwards by draining the queue: each confirmed id is there
exactly once (a restart may duplicate only the one message unconfirmed when the connection dropped).
"""

from __future__ import annotations

import threading
import time

import pytest

import tests.support.probe_contract  # noqa: F401  (the probes' contract entries)
from services.engine.client import TickworkClient
from services.errors import PublishFailed
from services.settings import Settings
from tests.faults.accounting import ledger_states
from tests.faults.results import write_result
from tests.support.rabbit import copies_in_queue, have_rabbitmqctl, rabbitmqctl, restart_broker

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.restarts_broker,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not have_rabbitmqctl(), reason="restarts the local broker with rabbitmqctl"),
]

# A RabbitMQ memory alarm at once: every publishing connection is blocked.
NO_MEMORY, NORMAL_MEMORY = "0.0000001", "0.4"
TIMEOUT_S = 5.0


def test_sends_through_a_broker_restart_lose_nothing_confirmed_and_duplicate_at_most_the_one_in_flight(
    broker_to_itself, client, rabbit, rabbit_url, database_url
):
    # Given a client sending one confirmed message after another
    confirmed: list[str] = []
    errors: list[Exception] = []
    slowest = [0.0]
    stop = threading.Event()

    def keep_sending() -> None:
        i = 0
        while not stop.is_set():
            began = time.monotonic()
            try:
                confirmed.append(client.send("probe_record", {"tag": f"r{i}"}).message_id)
            except Exception as error:
                errors.append(error)
            slowest[0] = max(slowest[0], time.monotonic() - began)
            i += 1

    sender = threading.Thread(target=keep_sending)
    sender.start()
    time.sleep(1)
    # When RabbitMQ stops for 3 s and starts again underneath it
    stopping_at = time.monotonic()
    restart_broker(down_s=3)
    up_at = time.monotonic()
    sent_before_up = len(confirmed)
    time.sleep(2)
    stop.set()
    sender.join(timeout=120)

    # Then every confirmed id is in the queue once, and has one ledger row
    copies = copies_in_queue(rabbit_url)
    figures = {
        "sent": len(confirmed),
        "distinct_ids": len(set(confirmed)),
        "lost": len(set(confirmed) - set(copies)),
        "queued_twice": sum(1 for n in copies.values() if n > 1),
        "unexpected": len(set(copies) - set(confirmed)),
        "send_errors": len(errors),
        "ledger_rows": len(ledger_states(database_url, set(confirmed))),
        "outage_s": round(up_at - stopping_at, 1),
        "slowest_send_s": round(slowest[0], 1),
        "sent_after_up": len(confirmed) - sent_before_up,
    }
    write_result("client_broker_restart", figures)
    assert not errors, f"sends failed outright: {errors[:3]}"
    assert figures["sent"] == figures["distinct_ids"] > 0 and figures["sent_after_up"] > 0
    assert figures["lost"] == 0 and figures["ledger_rows"] == figures["sent"]
    # At most the one message awaiting its confirm when the connection dropped may be queued twice
    # (RabbitMQ had it, its confirm was lost); the message that then failed to send lands once at most
    assert figures["queued_twice"] <= 1 and figures["unexpected"] <= 1


def test_a_memory_alarm_makes_send_wait_then_fail_clearly_within_its_timeout(broker_to_itself, rabbit, rabbit_url):
    # Given a client with a 5 s publish timeout, connected
    settings = Settings(rabbitmq_url=rabbit_url, tickwork_publish_timeout_seconds=TIMEOUT_S)
    client = TickworkClient(settings=settings, url=rabbit_url)
    before = client.send("probe_record", {"tag": "before"}).message_id
    figures: dict[str, object] = {"timeout_s": TIMEOUT_S}
    try:
        # When RabbitMQ raises a memory alarm and keeps it past the timeout
        rabbitmqctl("set_vm_memory_high_watermark", NO_MEMORY)
        began = time.monotonic()
        with pytest.raises(PublishFailed) as failed:
            client.send("probe_record", {"tag": "blocked"}, message_id="blocked-past-timeout")
        figures["failed_after_s"] = round(time.monotonic() - began, 1)
        figures["error"] = str(failed.value)

        # ... and then clears it while a send waits
        clearing = threading.Timer(1, rabbitmqctl, ("set_vm_memory_high_watermark", NORMAL_MEMORY))
        began = time.monotonic()
        clearing.start()
        waited = client.send("probe_record", {"tag": "waited"}).message_id
        figures["waited_then_sent_s"] = round(time.monotonic() - began, 1)
        clearing.join()
    finally:
        rabbitmqctl("set_vm_memory_high_watermark", NORMAL_MEMORY)
    after = client.send("probe_record", {"tag": "after"}).message_id
    client.close()

    # Then the failure said why, within the timeout; the send that waited returned once the alarm
    # cleared; every confirmed message is queued exactly once, and the failed one at most once
    copies = copies_in_queue(rabbit_url)
    figures.update(
        confirmed=3,
        queued={before: copies[before], waited: copies[waited], after: copies[after]},
        failed_send_queued=copies["blocked-past-timeout"],
        unexpected=len(set(copies) - {before, waited, after, "blocked-past-timeout"}),
    )
    write_result("client_memory_alarm", figures)
    assert "blocked publishing (low on memory)" in str(failed.value)
    assert TIMEOUT_S - 0.5 <= figures["failed_after_s"] <= TIMEOUT_S + 2  # type: ignore[operator]
    assert figures["waited_then_sent_s"] < TIMEOUT_S  # type: ignore[operator]
    assert copies[before] == copies[waited] == copies[after] == 1
    assert copies["blocked-past-timeout"] <= 1 and figures["unexpected"] == 0
