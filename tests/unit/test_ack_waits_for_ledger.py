"""An acknowledgement never overtakes the ledger row it finishes (actors/rabbitmq.py), with fakes for
pika's connection and channel."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

from actors.rabbitmq import DeadLetteringConsumer


class HeldBarrier:
    """A ledger writer whose commits happen when the test says so."""

    def __init__(self) -> None:
        self.waiting: list = []

    def when_written(self, callback) -> None:
        self.waiting.append(callback)

    def commit(self) -> None:
        waiting, self.waiting = self.waiting, []
        for callback in waiting:
            callback()

    def flush(self, timeout_s: float = 10.0) -> bool:
        self.commit()
        return True


class Wire:
    """pika's connection and channel: callbacks run at once, acks are recorded."""

    is_open = True

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    def add_callback_threadsafe(self, callback) -> None:
        callback()

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.acks.append((tag, multiple))


def consumer(barrier) -> tuple[DeadLetteringConsumer, Wire]:
    wire = Wire()
    made = DeadLetteringConsumer.__new__(DeadLetteringConsumer)
    made.broker = SimpleNamespace(ack_barrier=barrier)
    made.connection = made.channel = wire
    made.logger = logging.getLogger("test")
    made.known_tags = set()
    made._acks_lock = threading.Lock()
    made._finished, made._ack_scheduled, made._awaiting_ledger = [], False, 0
    made._prefetch = made._qos = 0  # no QoS frames (see the widening test)
    made._qos_scheduled = False
    return made, wire


def delivery(made: DeadLetteringConsumer, tag: int) -> SimpleNamespace:
    made.known_tags.add(tag)
    return SimpleNamespace(_tag=tag)


def test_ack_is_sent_only_after_the_ledger_commits():
    # Given a finished delivery whose row the ledger has not committed
    barrier = HeldBarrier()
    made, wire = consumer(barrier)
    made.ack(delivery(made, 1))
    # Then nothing is acknowledged yet
    assert wire.acks == []
    # When the ledger commits, the ack goes out
    barrier.commit()
    assert wire.acks == [(1, True)]


def test_a_multiple_ack_never_covers_a_delivery_still_waiting_for_the_ledger():
    # Given delivery 1 waiting for the ledger, and delivery 2 whose row is committed
    barrier = HeldBarrier()
    made, wire = consumer(barrier)
    first, second = delivery(made, 1), delivery(made, 2)
    made.ack(first)
    waiting_for_first = barrier.waiting.pop()
    made.ack(second)
    barrier.commit()
    # Then 2 is acknowledged alone, not with `multiple` (which would ack 1 too)
    assert wire.acks == [(2, False)]
    waiting_for_first()
    assert wire.acks == [(2, False), (1, True)]


def test_without_a_ledger_the_ack_goes_out_at_once():
    made, wire = consumer(None)
    made.ack(delivery(made, 7))
    assert wire.acks == [(7, True)]


class QosWire(Wire):
    def __init__(self) -> None:
        super().__init__()
        self.qos: list[tuple[int, bool]] = []
        self._impl = self

    def basic_qos(self, prefetch_count: int, global_qos: bool = False) -> None:
        self.qos.append((prefetch_count, global_qos))


def test_a_delivery_waiting_for_the_ledger_does_not_hold_a_threads_prefetch_slot():
    # Given a consumer with a channel prefetch of 2 (one per thread)
    barrier = HeldBarrier()
    made, _ = consumer(barrier)
    made.connection = made.channel = wire = QosWire()
    made._prefetch = made._qos = 2
    # When two finished deliveries wait for the ledger, the channel may take two more
    made.ack(delivery(made, 1))
    made.ack(delivery(made, 2))
    assert wire.qos[-1] == (4, True)
    # and once their rows are committed and acked, it narrows back
    barrier.commit()
    assert wire.qos[-1] == (2, True) and wire.acks == [(1, True), (2, True)]
