"""The broker calls only the hooks middleware define, and otherwise behaves as Dramatiq's: order,
late additions, SkipMessage raised through, other errors logged."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from dramatiq.broker import MessageProxy
from dramatiq.message import Message
from dramatiq.middleware import Middleware, SkipMessage

from actors.internals import pin_message_fields
from actors.rabbitmq import TickworkBroker


class Recorder(Middleware):
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def before_process_message(self, broker, message):
        self.calls.append(f"before {self.name}")

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self.calls.append(f"after {self.name}")


class Skipper(Middleware):
    def before_process_message(self, broker, message):
        raise SkipMessage("no")


class Broken(Middleware):
    def after_process_message(self, broker, message, *, result=None, exception=None):
        raise RuntimeError("boom")


def broker_with(*middleware: Middleware) -> TickworkBroker:
    # No connection is opened until the broker is used for AMQP.
    return TickworkBroker(url="amqp://127.0.0.1:1/%2F", delay_hold_ms=1000, middleware=list(middleware))


def test_hooks_run_in_dramatiq_order_including_middleware_added_later():
    calls: list[str] = []
    broker = broker_with(Recorder("a", calls), Middleware())
    broker.emit_before("process_message", None)
    broker.add_middleware(Recorder("b", calls))
    broker.emit_before("process_message", None)
    broker.emit_after("process_message", None, result=None)
    assert calls == ["before a", "before a", "before b", "after b", "after a"]


def test_skip_message_goes_through_and_other_errors_are_logged(caplog):
    calls: list[str] = []
    broker = broker_with(Broken(), Recorder("a", calls), Skipper())
    with pytest.raises(SkipMessage):
        broker.emit_before("process_message", None)
    broker.emit_after("process_message", None, result=None)  # Broken's error does not escape
    assert calls == ["before a", "after a"]
    assert "Unexpected failure in after_process_message" in caplog.text


def test_a_pinned_proxy_reads_the_same_fields_as_the_message():
    message = Message(queue_name="refresh", actor_name="a", args=(), kwargs={"x": 1}, options={"retries": 1})
    proxy = pin_message_fields(MessageProxy(message))
    assert (proxy.queue_name, proxy.actor_name, proxy.kwargs, proxy.message_id) == (
        "refresh",
        "a",
        {"x": 1},
        message.message_id,
    )
    proxy.options["traceback"] = "t"  # the same dict: middleware changes stay visible on the message
    assert message.options["traceback"] == "t"
    assert proxy.copy(queue_name="refresh.XQ").queue_name == "refresh.XQ"


class FakeChannel:
    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.acks.append((tag, multiple))


class FakeConnection:
    def __init__(self) -> None:
        self.callbacks: list = []

    def add_callback_threadsafe(self, callback) -> None:
        self.callbacks.append(callback)


def consumer_with_deliveries(*tags: int):
    from actors.rabbitmq import DeadLetteringConsumer

    consumer = DeadLetteringConsumer.__new__(DeadLetteringConsumer)  # no AMQP connection
    consumer.channel, consumer.connection, consumer.known_tags = FakeChannel(), FakeConnection(), set(tags)
    consumer._acks_lock, consumer._finished, consumer._ack_scheduled = threading.Lock(), [], False
    consumer.broker, consumer._awaiting_ledger = SimpleNamespace(ack_barrier=None), 0  # no ledger: acks at once
    consumer._prefetch = consumer._qos = 0  # no QoS frames
    consumer._qos_scheduled = False
    return consumer


def delivered(tag: int) -> MessageProxy:
    proxy = MessageProxy(Message(queue_name="refresh", actor_name="a", args=(), kwargs={}, options={}))
    proxy._tag = tag
    return proxy


def test_acks_are_batched_and_never_cover_an_unfinished_delivery():
    # Given five deliveries, of which 2, 1 and 4 finish
    consumer = consumer_with_deliveries(1, 2, 3, 4, 5)
    for tag in (2, 1, 4):
        consumer.ack(delivered(tag))
    # Then one wake-up of the connection's thread is asked for, not three
    assert len(consumer.connection.callbacks) == 1
    # When it runs: 1 and 2 in one multiple ack (3 still runs), 4 on its own
    consumer.connection.callbacks.pop()()
    assert consumer.channel.acks == [(2, True), (4, False)]
    # And once 3 and 5 finish, one multiple ack covers the rest
    consumer.ack(delivered(5))
    consumer.ack(delivered(3))
    consumer.connection.callbacks.pop()()
    assert consumer.channel.acks[2:] == [(5, True)]
    assert consumer.known_tags == set()
