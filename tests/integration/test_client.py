"""The client publishes contract-checked messages with confirms, and survives a broker restart."""

from __future__ import annotations

import threading
import time

import pytest

import tests.support.probe_contract  # noqa: F401  (the probes' contract entries)
from services.errors import PayloadInvalid, UnknownActor
from tests.support.ledger import all_tasks
from tests.support.rabbit import copies_in_queue, decode, have_rabbitmqctl, restart_broker

pytestmark = pytest.mark.rabbitmq


def test_invalid_payload_and_unknown_actor_are_refused_before_anything_is_sent(client, rabbit):
    with pytest.raises(PayloadInvalid, match="tag"):
        client.send("probe_record", {"tag": 5})
    with pytest.raises(UnknownActor):
        client.send("no_such_actor", {})
    assert rabbit.depth("refresh") == 0


def test_sent_message_is_persistent_and_in_the_documented_envelope(client, rabbit):
    sent = client.send("fetch_market_data", {"symbols": ["AAPL"], "interval": "1d"})
    _method, properties, body = rabbit.channel.basic_get("refresh", auto_ack=True)
    assert properties.delivery_mode == 2 and properties.message_id == sent.message_id
    envelope = decode(body)
    assert set(envelope) == {"queue_name", "actor_name", "args", "kwargs", "options", "message_id", "message_timestamp"}
    assert envelope["kwargs"] == {"symbols": ["AAPL"], "interval": "1d"}


def test_delayed_send_is_parked_on_the_delay_queue(client, rabbit):
    client.send("probe_record", {"tag": "later"}, delay_s=3600)
    assert rabbit.depth("refresh.DQ") == 1
    _, _, body = rabbit.channel.basic_get("refresh.DQ", auto_ack=True)
    options = decode(body)["options"]
    assert options["due_at_ms"] - options["eta"] > 0  # held at most the hold limit, then re-parked


@pytest.mark.slow
@pytest.mark.restarts_broker
@pytest.mark.skipif(not have_rabbitmqctl(), reason="restarts the local broker with rabbitmqctl")
def test_no_confirmed_send_is_lost_across_a_broker_restart(broker_to_itself, client, rabbit_url, rabbit, database_url):
    # Given one client shared by 8 threads, each sending steadily
    confirmed: list[str] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.is_set():
            try:
                confirmed.append(client.send("probe_record", {"tag": "steady"}).message_id)
            except Exception as error:  # a send may fail for good while the broker is down
                errors.append(error)

    senders = [threading.Thread(target=keep_sending) for _ in range(8)]
    for sender in senders:
        sender.start()
    time.sleep(0.5)
    # When the broker restarts underneath it
    restart_broker(down_s=1)
    time.sleep(1.5)
    stop.set()
    for sender in senders:
        sender.join(timeout=60)

    # Then every send that returned is in the queue after the restart (duplicates allowed)
    ids = set(copies_in_queue(rabbit_url))
    assert confirmed and len(set(confirmed)) == len(confirmed) and set(confirmed) <= ids
    assert not errors, f"sends failed outright: {errors[:3]}"
    # and each is in the ledger, once, as the API and CLI record it
    assert set(confirmed) <= {task.message_id for task in all_tasks(database_url)}


def test_send_many_confirms_every_message_and_validates_all_first(rabbit_url, rabbit):
    from services.engine.client import TickworkClient
    from services.settings import Settings

    client = TickworkClient(settings=Settings(rabbitmq_url=rabbit_url), url=rabbit_url)
    from services.engine.client import Send

    with pytest.raises(PayloadInvalid):
        client.send_many([Send("probe_record", {"tag": "ok"}), Send("probe_record", {"tag": 5})])
    assert rabbit.depth("refresh") == 0
    # Many messages, so that confirms arriving while a publish is still being written are seen: each
    # must be counted (a missed one stalls the send, then publishes duplicates).
    started = time.monotonic()
    sent = client.send_many([Send("probe_record", {"tag": f"b{i}"}) for i in range(20_000)])
    # A missed confirm stalled the send 10 s per miss and published duplicates: the depth catches
    # the duplicates, the time a stall (about 3 s here alone; generous for parallel test processes).
    assert time.monotonic() - started < 20
    assert len({s.message_id for s in sent}) == 20_000
    assert rabbit.depth("refresh") == 20_000


def test_unroutable_message_is_an_error_not_a_silent_drop(client, rabbit):
    from services.errors import PublishFailed

    with pytest.raises(PublishFailed, match="unroutable"):
        client.publish("no-such-queue", b"{}", message_id="m-unroutable")
