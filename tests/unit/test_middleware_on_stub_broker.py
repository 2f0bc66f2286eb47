"""Tickwork's middleware on Dramatiq's in-memory StubBroker: fast checks of each policy."""

from __future__ import annotations

import time

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.exc import DataError

from actors.middleware.age_limit import AgeLimit
from actors.middleware.retries import RetryPolicyMiddleware
from actors.middleware.validation import PayloadValidation
from services.contract import ActorSpec, Contract, Payload
from services.engine.retry_policy import RetryPolicy
from services.errors import NonRetryableError, TaskCancelled


class Numbers(Payload):
    n: int


CONTRACT = Contract([ActorSpec("add_one", "refresh", Numbers)])
QUICK = RetryPolicy(max_retries=2, first_delay_s=0.01, max_delay_s=0.05, jitter=0)


@pytest.fixture
def broker():
    stub = StubBroker(middleware=[PayloadValidation(contract=CONTRACT), AgeLimit(), RetryPolicyMiddleware()])
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


def declare(broker, behaviour, **options):
    calls = []

    def add_one(n: int) -> None:
        calls.append(n)
        behaviour(len(calls))

    actor = dramatiq.actor(
        add_one, actor_name="add_one", queue_name="refresh", broker=broker, retry_policy=QUICK, **options
    )
    return actor, calls


def test_invalid_payload_is_dead_lettered_without_running_or_retrying(broker, worker):
    actor, calls = declare(broker, lambda attempt: None)
    actor.send_with_options(kwargs={"n": "not a number"})
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == []
    [dead] = broker.dead_letters
    assert dead.options["tickwork_rejection"]["reason"] == "invalid_payload"


def test_transient_error_is_retried_by_the_policy_then_dead_lettered(broker, worker):
    def always_fails(attempt):
        raise ConnectionError("down")

    actor, calls = declare(broker, always_fails)
    actor.send(n=1)
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == [1, 1, 1]  # the first run and QUICK's 2 retries
    assert len(broker.dead_letters) == 1


def test_non_retryable_error_fails_at_once(broker, worker):
    def refuses(attempt):
        raise NonRetryableError("no")

    actor, calls = declare(broker, refuses)
    actor.send(n=1)
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == [1] and len(broker.dead_letters) == 1


def test_a_value_the_database_refuses_fails_at_once(broker, worker):
    def out_of_range(attempt):
        raise DataError("SELECT 1 WHERE id = %(id)s", {"id": 2**31}, Exception("integer out of range"))

    actor, calls = declare(broker, out_of_range)  # no `throws`: the middleware itself knows
    actor.send(n=1)
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == [1] and len(broker.dead_letters) == 1


def test_cancelled_task_is_neither_retried_nor_dead_lettered(broker, worker):
    def cancelled(attempt):
        raise TaskCancelled

    actor, calls = declare(broker, cancelled)
    actor.send(n=1)
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == [1] and broker.dead_letters == []


def test_message_older_than_its_age_limit_is_skipped_not_dead_lettered(broker, worker):
    actor, calls = declare(broker, lambda attempt: None, max_age=1000)
    message = actor.message(n=1)
    stale = message.copy(message_timestamp=int(time.time() * 1000) - 5000)
    broker.enqueue(stale)
    broker.join("refresh", fail_fast=False)
    worker.join()
    assert calls == [] and broker.dead_letters == []


def test_a_rate_limited_task_is_retried_no_sooner_than_the_provider_asked(broker, worker):
    from services.errors import RateLimited

    # Given a task whose provider asks to come back in 0.5 s (the policy's delay is 0.01 s)
    started: list[float] = []

    def limited_once(attempt):
        started.append(time.monotonic())
        if attempt == 1:
            raise RateLimited("binance", "HTTP 429", retry_after_s=0.5)

    actor, calls = declare(broker, limited_once)
    actor.send(n=1)
    broker.join("refresh", fail_fast=False)
    worker.join()

    # Then the retry waited for the Retry-After, and succeeded
    assert calls == [1, 1] and not broker.dead_letters
    assert started[1] - started[0] >= 0.5
