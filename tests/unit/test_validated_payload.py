"""Actors run with their validated payload while the message stays JSON (actors/declare.py)."""

from __future__ import annotations

import json
from datetime import date

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import TimeLimit

from actors.declare import contract_actor
from actors.middleware.age_limit import AgeLimit
from actors.middleware.retries import RetryPolicyMiddleware
from actors.middleware.validation import PayloadValidation
from services.contract import ActorSpec, Contract, Payload
from services.engine.retry_policy import RetryPolicy
from services.errors import PayloadInvalid

QUICK = RetryPolicy(max_retries=1, first_delay_s=0.01, max_delay_s=0.05, jitter=0)


class DayAndCount(Payload):
    day: date
    count: int = 3


CONTRACT = Contract([ActorSpec("count_days", "refresh", DayAndCount, retry_override=QUICK)])


@pytest.fixture
def broker():
    stub = StubBroker(
        middleware=[PayloadValidation(contract=CONTRACT), AgeLimit(), TimeLimit(), RetryPolicyMiddleware()]
    )
    stub.emit_after("process_boot")
    dramatiq.set_broker(stub)
    yield stub
    stub.flush_all()
    stub.close()


@pytest.fixture
def worker(broker):
    running = Worker(broker, worker_timeout=50)
    running.start()
    yield running
    running.stop()


def declare(behaviour):
    calls: list[tuple[object, object]] = []

    @contract_actor(name="count_days", contract=CONTRACT)
    def count_days(day: date, count: int = 3) -> None:
        calls.append((day, count))
        behaviour(len(calls))

    return count_days, calls


def test_the_actor_receives_parsed_values_and_defaults(broker, worker):
    # Given a message whose date is an ISO string, as JSON carries it, and no count
    actor, calls = declare(lambda attempt: None)
    actor.send_with_options(kwargs={"day": "2026-03-02"})

    # When a worker runs it
    broker.join("refresh", fail_fast=False)
    worker.join()

    # Then the function got a date and the schema's default
    assert calls == [(date(2026, 3, 2), 3)]


def test_retries_and_dead_letters_carry_the_kwargs_as_sent(broker, worker):
    # Given an actor that always fails with a retryable error
    def fails(attempt):
        raise ConnectionError("down")

    actor, calls = declare(fails)
    actor.send_with_options(kwargs={"day": "2026-03-02"})

    # When it has been retried and dead-lettered
    broker.join("refresh", fail_fast=False)
    worker.join()

    # Then every run saw a date, and the dead letter still holds the JSON string, encodable as it came
    assert calls == [(date(2026, 3, 2), 3)] * 2
    [dead] = broker.dead_letters
    assert dead.kwargs == {"day": "2026-03-02"}
    assert json.loads(dead.encode())["kwargs"] == {"day": "2026-03-02"}


def test_a_direct_call_is_validated_too(broker):
    # Given the actor called as a function, outside any worker
    actor, calls = declare(lambda attempt: None)

    # When called with the message's JSON form, then with a bad value
    actor(day="2026-03-02", count=1)

    # Then it was parsed, and a bad value is refused before the function runs
    assert calls == [(date(2026, 3, 2), 1)]
    with pytest.raises(PayloadInvalid):
        actor(day="not a day")
    assert len(calls) == 1
