"""Every private (or undocumented) name of a pinned library that Tickwork relies on, in one place.

Dramatiq, periodiq and prometheus_client are pinned in pyproject.toml; the names below are not part
of their documented API and may change in any release. Only this module imports or reads them: the
broker (`actors.rabbitmq`), the metrics middleware, the cancellation registry and the scheduler swap
go through it. `RELIANCES` says, for each name, who uses it and why, and checks that it still is what
Tickwork expects; `tests/unit/test_internals.py` runs every check, so an upgrade fails a unit test that
names the library, the installed and the pinned version, instead of a worker in production.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import requires, version
from typing import Any

import dramatiq.middleware.prometheus as dramatiq_prometheus
import periodiq
from dramatiq.broker import Broker, MessageProxy
from dramatiq.brokers.rabbitmq import RabbitmqBroker

# The consumer the RabbitMQ broker builds: subclassed for batched acks and recorded dead letters.
from dramatiq.brokers.rabbitmq import _RabbitmqConsumer as RabbitmqConsumer

# The message proxy that consumer hands out: its `_tag` is the delivery tag an ack needs.
from dramatiq.brokers.rabbitmq import _RabbitmqMessage as RabbitmqMessage
from dramatiq.message import Message
from dramatiq.middleware import Middleware, MiddlewareError

# How Dramatiq's time limit interrupts a task thread (undocumented): the same for an operator's cancel.
from dramatiq.middleware.threading import raise_thread_exception

# periodiq's own scheduler, kept before `replace_periodiq_scheduler` swaps the module's name.
PeriodiqSchedulerBase = periodiq.Scheduler


def pinned(library: str) -> str:
    """Tickwork's requirement on `library`, as pyproject.toml pins it (read from the installed metadata)."""
    wanted = library.lower().replace("_", "-")
    for requirement in requires("tickwork") or ():
        name = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]
        if name.lower().replace("_", "-") == wanted:
            return requirement.split(";")[0].strip()
    return f"{library} (not pinned)"


__all__ = [
    "RELIANCES",
    "PeriodiqSchedulerBase",
    "RabbitmqConsumer",
    "delivery_tag",
    "histogram_upper_bounds",
    "histogram_values",
    "pin_message_fields",
    "raise_thread_exception",
    "readdress_message",
    "remember_delivery_properties",
    "replace_periodiq_scheduler",
    "set_channel_prefetch_nowait",
    "set_dramatiq_prometheus_folder",
    "stuffed_exception",
]


# -- Dramatiq: the message proxy -----------------------------------------------------------------------
def delivery_tag(message: Any) -> int:
    """The AMQP delivery tag of a message the RabbitMQ consumer handed out (to ack it in batches)."""
    return message._tag


def stuffed_exception(message: Any) -> BaseException | None:
    """The exception the worker stuffed into a message that failed (recorded with its dead letter)."""
    return getattr(message, "_exception", None)


# A Message is a frozen dataclass: its fields never change, so a proxy may hold them itself.
_MESSAGE_FIELDS = tuple(field.name for field in dataclasses.fields(Message))


def pin_message_fields(proxy: Any) -> Any:
    """Copy the message's fields onto its proxy. Dramatiq's MessageProxy forwards every attribute
    read through `__getattr__`, a Python call; the middleware stack reads dozens per message."""
    if proxy is not None:
        message = proxy._message
        proxy.__dict__.update({name: getattr(message, name) for name in _MESSAGE_FIELDS})
    return proxy


def readdress_message(proxy: Any, **changes: Any) -> None:
    """Give a delivered placeholder (a body that was not a message) the queue it came from and the id
    its sender set: the proxy's message is replaced by a copy with `changes`."""
    proxy._message = proxy._message.copy(**changes)


def remember_delivery_properties(consumer: Any, remember: Any) -> None:
    """Call `remember(properties)` with each delivery's AMQP properties before the consumer decodes
    it: Dramatiq's consumer reads (method, properties, body) from `iterator` and keeps only the body."""
    deliveries = consumer.iterator

    def passing_through() -> Any:
        for method, properties, body in deliveries:
            remember(properties)
            yield method, properties, body

    consumer.iterator = passing_through()


def set_channel_prefetch_nowait(channel: Any, count: int) -> None:
    """Change a BlockingChannel's channel-wide prefetch from the connection's thread without waiting
    for Qos-Ok: pika's blocking `basic_qos` would wait on the very thread that must read the answer."""
    channel._impl.basic_qos(prefetch_count=count, global_qos=True)


# -- Dramatiq: the Prometheus middleware, prometheus_client's histogram ---------------------------------
def set_dramatiq_prometheus_folder(folder: str) -> None:
    """Point Dramatiq's Prometheus middleware at the worker group's folder: it reads this module
    global (its environment knob is read once, at import time)."""
    dramatiq_prometheus.DB_PATH = folder


def histogram_upper_bounds(histogram: Any) -> tuple[float, ...]:
    """A prometheus_client histogram's bucket bounds, +Inf last (to check Dramatiq's buckets)."""
    return tuple(histogram._upper_bounds)


def histogram_values(child: Any) -> tuple[Any, list[Any]]:
    """(the sum value, the bucket values) of a histogram child: a tally adds to them what `observe`
    would have, in one write per flush instead of one per message."""
    return child._sum, child._buckets


# -- periodiq --------------------------------------------------------------------------------------------
def replace_periodiq_scheduler(scheduler: type[Any]) -> None:
    """Make `periodiq actors` run `scheduler`: periodiq has no hook for its scheduler class, and its
    `main` looks the module's `Scheduler` name up when it runs."""
    periodiq.Scheduler = scheduler


# -- the checks -----------------------------------------------------------------------------------------
class InternalsChanged(RuntimeError):
    """Raised when a private name of a pinned library is no longer what Tickwork relies on."""


@dataclass(frozen=True)
class Reliance:
    """One private name: the library it belongs to, who uses it and why, and a check that it is still
    what that use expects (the check raises AssertionError with what differs)."""

    library: str
    name: str
    used_by: str
    why: str
    check: Callable[[], None]

    def verify(self) -> None:
        try:
            self.check()
        except Exception as error:  # an AttributeError or a TypeError is as much a change as a failed assert
            raise InternalsChanged(
                f"{self.library} {version(self.library)} (Tickwork pins {pinned(self.library)}): "
                f"{self.name} is not what {self.used_by} relies on ({type(error).__name__}: {error}). "
                f"It is used to {self.why}. Read the library's source and update actors/internals.py."
            ) from error


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def _source(function: Any) -> str:
    return inspect.getsource(function)


def _message() -> Message[Any]:
    return Message(queue_name="q", actor_name="a", args=(), kwargs={}, options={})


def _check_consumer() -> None:
    assert _parameters(RabbitmqConsumer.__init__) == ["self", "broker", "queue_name", "prefetch", "timeout"]
    init, following = _source(RabbitmqConsumer.__init__), _source(RabbitmqConsumer.__next__)
    for attribute in ("self.broker", "self.queue_name", "self.logger", "self.connection", "self.channel"):
        assert f"{attribute} =" in init, f"__init__ no longer sets {attribute}"
    assert "self.known_tags = set()" in init, "__init__ no longer keeps known_tags, the unfinished deliveries"
    assert "self.known_tags.add(" in following, "__next__ no longer adds each delivery to known_tags"
    assert "self.iterator = self.channel.consume(" in init, "__init__ no longer consumes through `iterator`"
    assert "next(self.iterator)" in following, "__next__ no longer reads deliveries from `iterator`"
    assert "add_callback_threadsafe" in _source(RabbitmqConsumer.ack), "ack no longer sends from the connection thread"
    for method in ("ack", "nack", "__next__"):
        assert method in vars(RabbitmqConsumer), f"{method} is no longer defined on the consumer"


def _check_rabbitmq_message() -> None:
    proxy = RabbitmqMessage(False, 7, _message())
    assert proxy._tag == 7, "the delivery tag is no longer `_tag`"


def _check_message_proxy() -> None:
    message, error = _message(), ValueError("boom")
    proxy = MessageProxy(message)
    assert proxy._message is message, "the proxied message is no longer `_message`"
    assert "actor_name" not in vars(proxy) and proxy.actor_name == "a", "fields are no longer read via __getattr__"
    proxy.stuff_exception(error)
    assert stuffed_exception(proxy) is error, "stuff_exception no longer keeps the error in `_exception`"
    assert dataclasses.is_dataclass(Message) and Message.__dataclass_params__.frozen, "Message is no longer frozen"  # type: ignore[attr-defined]


def _check_broker_hooks() -> None:
    # The overrides of actors.rabbitmq.TickworkBroker: Dramatiq must still declare through them.
    assert _parameters(RabbitmqBroker._build_queue_arguments) == ["self", "queue_name"]
    assert _parameters(RabbitmqBroker._declare_xq_queue) == ["self", "queue_name"]
    assert "self._build_queue_arguments(queue_name)" in _source(RabbitmqBroker._declare_queue)
    assert "self._build_queue_arguments(queue_name)" in _source(RabbitmqBroker._declare_dq_queue)
    assert "self._declare_xq_queue(" in _source(RabbitmqBroker._ensure_queue)
    assert isinstance(vars(RabbitmqBroker)["consumer_class"], property)
    assert "self.consumer_class(" in _source(RabbitmqBroker.consume)


def _check_middleware_signals() -> None:
    # TickworkBroker skips the hooks a middleware does not override and re-implements emit_before and
    # emit_after: safe only while Middleware's hooks do nothing and Broker's emit keeps these semantics.
    def nothing(self: Any) -> None:
        """A hook that does nothing."""

    hooks = [name for name in vars(Middleware) if name.startswith(("before_", "after_"))]
    assert len(hooks) > 15, f"only {len(hooks)} hooks on Middleware"
    for name in hooks:
        assert vars(Middleware)[name].__code__.co_code == nothing.__code__.co_code, f"Middleware.{name} does work"
    calls: list[str] = []

    class Recording(Middleware):
        def __init__(self, label: str, error: Exception | None = None) -> None:
            self.label, self.error = label, error

        def before_ack(self, broker: Any, message: Any) -> None:
            calls.append(f"before {self.label}")
            if self.error:
                raise self.error

        def after_ack(self, broker: Any, message: Any) -> None:
            calls.append(f"after {self.label}")
            if self.error:
                raise self.error

    def broker_with(*middleware: Middleware) -> Broker:
        broker = Broker(middleware=[])
        broker.middleware.extend(middleware)  # not add_middleware, which refuses a type twice
        broker.logger = logging.getLogger("tickwork.internals.check")
        broker.logger.disabled = True  # the "Unexpected failure" line below is expected
        return broker

    broker = broker_with(Recording("a"), Recording("b", RuntimeError("logged")), Recording("c"))
    broker.emit_before("ack", None)
    broker.emit_after("ack", None)
    assert calls == ["before a", "before b", "before c", "after c", "after b", "after a"], calls
    broker = broker_with(Recording("stop", MiddlewareError("stop")))
    try:
        broker.emit_before("ack", None)
    except MiddlewareError:
        pass
    else:
        raise AssertionError("emit_before no longer lets MiddlewareError through")
    assert _parameters(Broker.emit_before) == _parameters(Broker.emit_after) == ["self", "signal", "args", "kwargs"]


def _check_dramatiq_prometheus() -> None:
    prometheus = dramatiq_prometheus.Prometheus
    assert isinstance(dramatiq_prometheus.DB_PATH, str), "DB_PATH is no longer the folder's module global"
    boot = _source(prometheus.after_process_boot)
    assert "DB_PATH" in boot, "after_process_boot no longer reads DB_PATH"
    # TickworkMetrics writes, from its tallies, what Dramatiq's per-message hooks write: exactly these.
    relaid = {"inprogress_delayed_messages", "inprogress_messages", "message_durations", "total_messages"}
    relaid |= {"total_errored_messages"}
    written = set(re.findall(r"self\.(\w+)\.labels", _source(prometheus.before_process_message)))
    written |= set(re.findall(r"self\.(\w+)\.labels", _source(prometheus.after_process_message)))
    assert written == relaid, f"the per-message hooks write {sorted(written)}, Tickwork re-lays {sorted(relaid)}"
    for series in relaid:
        assert f"self.{series} =" in boot, f"after_process_boot no longer creates {series}"
    assert prometheus.after_skip_message is prometheus.after_process_message, "a skip is no longer counted as processed"
    assert "delayed_messages" in vars(prometheus()), "Prometheus no longer keeps delayed_messages"


def _check_histogram() -> None:
    import prometheus_client as prom

    histogram = prom.Histogram("internals_check", "check", buckets=(1.0, 2.0), registry=prom.CollectorRegistry())
    assert histogram_upper_bounds(histogram) == (1.0, 2.0, float("inf"))
    total, buckets = histogram_values(histogram)
    assert len(buckets) == 3 and hasattr(total, "inc") and all(hasattr(bucket, "inc") for bucket in buckets)
    observe = _source(prom.Histogram.observe)
    assert "self._sum.inc(amount)" in observe and "self._buckets[i].inc(1)" in observe, "observe writes otherwise"


def _check_raise_thread_exception() -> None:
    assert _parameters(raise_thread_exception) == ["thread_id", "exception"]


def _check_periodiq_scheduler() -> None:
    assert _parameters(PeriodiqSchedulerBase.__init__) == ["self", "actors"]
    for method in ("schedule", "loop"):
        assert _parameters(getattr(PeriodiqSchedulerBase, method)) == ["self"], method
    run = _source(periodiq.main)
    assert "Scheduler(actors=" in run, "main no longer builds the module's Scheduler by name"
    assert run.index("scheduler.schedule()") < run.index("scheduler.loop()"), "main no longer calls schedule, loop"


def _check_blocking_channel() -> None:
    import pika.adapters.blocking_connection as blocking
    import pika.channel

    assert "self._impl = " in _source(blocking.BlockingChannel.__init__), "BlockingChannel no longer wraps `_impl`"
    wanted = ["self", "prefetch_size", "prefetch_count", "global_qos", "callback"]
    assert _parameters(pika.channel.Channel.basic_qos) == wanted, "Channel.basic_qos changed its parameters"


RELIANCES = (
    Reliance(
        "pika",
        "pika.BlockingChannel._impl",
        "actors.rabbitmq.DeadLetteringConsumer._sync_prefetch",
        "widen the channel's prefetch by the deliveries that wait for the ledger, from the connection thread",
        _check_blocking_channel,
    ),
    Reliance(
        "dramatiq",
        "dramatiq.brokers.rabbitmq._RabbitmqConsumer",
        "actors.rabbitmq.DeadLetteringConsumer",
        "batch acks (known_tags, the connection thread) and republish rejected messages to the .XQ",
        _check_consumer,
    ),
    Reliance(
        "dramatiq",
        "dramatiq.brokers.rabbitmq._RabbitmqMessage._tag",
        "actors.rabbitmq.DeadLetteringConsumer.ack",
        "acknowledge a delivery by its tag, several in one `multiple` ack",
        _check_rabbitmq_message,
    ),
    Reliance(
        "dramatiq",
        "dramatiq.broker.MessageProxy._message, _exception",
        "actors.rabbitmq (pin_message_fields, dead_letter_record)",
        "save a Python call per attribute read, and record the error a dead letter died of",
        _check_message_proxy,
    ),
    Reliance(
        "dramatiq",
        "RabbitmqBroker._build_queue_arguments, _declare_xq_queue, consumer_class",
        "actors.rabbitmq.TickworkBroker",
        "declare queues with services.engine.topology's arguments and use DeadLetteringConsumer",
        _check_broker_hooks,
    ),
    Reliance(
        "dramatiq",
        "Broker.emit_before, emit_after and Middleware's no-op hooks",
        "actors.rabbitmq.TickworkBroker (hook caching)",
        "call only the hooks a middleware overrides, which costs every message less",
        _check_middleware_signals,
    ),
    Reliance(
        "dramatiq",
        "dramatiq.middleware.prometheus.DB_PATH and Prometheus's series attributes",
        "actors.middleware.metrics.TickworkMetrics",
        "write Dramatiq's dramatiq_* series to the group's folder, from per-thread tallies",
        _check_dramatiq_prometheus,
    ),
    Reliance(
        "prometheus_client",
        "Histogram._upper_bounds, _sum, _buckets",
        "actors.middleware.metrics (_add_histogram, the bucket check)",
        "add a tally's histogram counts in one write per flush",
        _check_histogram,
    ),
    Reliance(
        "dramatiq",
        "dramatiq.middleware.threading.raise_thread_exception",
        "actors.cancel_registry",
        "interrupt a running task an operator cancelled, as Dramatiq's time limit does",
        _check_raise_thread_exception,
    ),
    Reliance(
        "periodiq",
        "periodiq.Scheduler (looked up by periodiq.main)",
        "actors.scheduling.PeriodiqScheduler",
        "make `periodiq actors` run Tickwork's scheduler loop instead of periodiq's",
        _check_periodiq_scheduler,
    ),
)
