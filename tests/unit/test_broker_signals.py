"""The broker calls only the hooks middleware define, and otherwise behaves as Dramatiq's: order,
late additions, SkipMessage raised through, other errors logged."""

from __future__ import annotations

import pytest
from dramatiq.broker import MessageProxy
from dramatiq.message import Message
from dramatiq.middleware import Middleware, SkipMessage

from actors.rabbitmq import TickworkBroker, _pin_fields


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
    proxy = _pin_fields(MessageProxy(message))
    assert (proxy.queue_name, proxy.actor_name, proxy.kwargs, proxy.message_id) == (
        "refresh",
        "a",
        {"x": 1},
        message.message_id,
    )
    proxy.options["traceback"] = "t"  # the same dict: middleware changes stay visible on the message
    assert message.options["traceback"] == "t"
    assert proxy.copy(queue_name="refresh.XQ").queue_name == "refresh.XQ"
