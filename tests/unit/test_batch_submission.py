"""The batch use case (services/api/submit_batch.py) with a fake sender: every task checked before
any is sent, the refused one named by its index, ids in request order; and the client's send_many
naming the index of the message the contract refuses before it opens a connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from services.api.schemas import MAX_BATCH, TaskBatch, TaskCreate
from services.api.submit_batch import BatchTaskInvalid, submit_batch, task_ids
from services.api.tokens import Caller
from services.engine.client import Send, SentMessage, TickworkClient
from services.errors import PayloadInvalid
from services.settings import Settings
from tests.support.fakes import ConfirmingSender, FakeSessions

CALLER = Caller("abc123", "ci", frozenset({"create", "notify"}))
NO_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens: a test that connects fails


class RefusingSender:
    """Refuses the batch the way the client does when the contract refuses its message `index`."""

    def __init__(self, index: int) -> None:
        self.index = index

    def send_many(self, requests: Iterable[Send]) -> list[SentMessage]:
        list(requests)
        error = PayloadInvalid("symbol: String should have at most 32 characters")
        error.index = self.index
        raise error


def batch(*tasks: TaskCreate) -> TaskBatch:
    return TaskBatch(tasks=list(tasks))


def monitor(**fields: object) -> TaskCreate:
    return TaskCreate.model_validate({"actor": "monitor_jobs", **fields})


def test_every_task_is_sent_in_one_send_and_answered_in_request_order():
    # Given three tasks, When the batch is submitted
    sender, sessions = ConfirmingSender(), FakeSessions()
    request = batch(monitor(), TaskCreate(actor="evaluate_alerts"), monitor(priority="high"))
    result = submit_batch(request, client=sender, session_factory=sessions, caller=CALLER, idempotency_key=None)

    # Then they went out in one send_many, and the answer lists each id in the request's order
    assert [s.actor for s in sender.sent] == ["monitor_jobs", "evaluate_alerts", "monitor_jobs"]
    assert [t.task_id for t in result.created.tasks] == [s.message_id for s in sender.sent]
    assert len(set(t.task_id for t in result.created.tasks)) == 3 and result.created.count == 3
    assert sender.sent[2].priority == "high" and not result.replayed
    assert sessions.units_of_work == 0  # no key: nothing to claim


def test_a_task_scheduled_too_far_ahead_sends_none_and_is_named_by_its_index():
    sender = ConfirmingSender()
    too_far = datetime.now(UTC) + timedelta(days=31)
    request = batch(monitor(), monitor(), monitor(scheduled_for=too_far))

    with pytest.raises(BatchTaskInvalid) as refused:
        submit_batch(request, client=sender, session_factory=FakeSessions(), caller=CALLER, idempotency_key=None)

    assert (refused.value.index, refused.value.actor, refused.value.reason) == (2, "monitor_jobs", "schedule_too_far")
    assert str(refused.value).startswith("tasks[2] (monitor_jobs): scheduled_for may be at most 30 days")
    assert sender.sent == []


def test_a_task_the_contract_refuses_is_named_by_its_index_and_actor():
    request = batch(monitor(), TaskCreate(actor="fetch_asset_info", parameters={"symbol": "X" * 99}))

    with pytest.raises(BatchTaskInvalid) as refused:
        submit_batch(
            request, client=RefusingSender(1), session_factory=FakeSessions(), caller=CALLER, idempotency_key=None
        )

    assert (refused.value.index, refused.value.actor, refused.value.reason) == (
        1,
        "fetch_asset_info",
        "invalid_payload",
    )
    assert "tasks[1] (fetch_asset_info): invalid_payload: symbol" in str(refused.value)


def test_the_client_names_the_refused_message_and_sends_nothing():
    # Given a client whose broker cannot be reached (a send that got as far as publishing would fail)
    client = TickworkClient(settings=Settings(rabbitmq_url=NO_BROKER), url=NO_BROKER)
    sends = [Send("monitor_jobs"), Send("monitor_jobs"), Send("monitor_jobs", {"unexpected": 1}), Send("nope")]

    # When the third message breaks the contract, Then the error names it (publishing would have
    # ended in PublishFailed: it is raised before any connection is tried)
    with pytest.raises(PayloadInvalid) as refused:
        client.send_many(sends)
    assert refused.value.index == 2


def test_a_batch_holds_one_to_a_thousand_tasks():
    with pytest.raises(ValueError, match="at least 1 item"):
        TaskBatch(tasks=[])
    with pytest.raises(ValueError, match=f"at most {MAX_BATCH} items"):
        TaskBatch(tasks=[monitor()] * (MAX_BATCH + 1))
    assert len(TaskBatch(tasks=[monitor()] * MAX_BATCH).tasks) == MAX_BATCH


def test_keyed_batches_get_ids_from_their_key_and_body():
    # Given the same body sent twice under one key (a retry after a 503), and changes of each input
    first, again = task_ids(2, "tok1", "k1", "body-sha"), task_ids(2, "tok1", "k1", "body-sha")
    # Then a retry sends the same ids (a worker sees a redelivery), distinct per position
    assert first == again and len(set(first)) == 2
    # and another key, body or token gets other ids; no key, new ones each time
    others = [
        task_ids(2, "tok1", "k2", "body-sha"),
        task_ids(2, "tok1", "k1", "other"),
        task_ids(2, "tok2", "k1", "body-sha"),
    ]
    assert all(set(other).isdisjoint(first) for other in others)
    assert task_ids(2, "tok1", None, "") != task_ids(2, "tok1", None, "")
