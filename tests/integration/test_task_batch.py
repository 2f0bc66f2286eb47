"""POST /api/v1/tasks/batch against real RabbitMQ and PostgreSQL (the app in this process, the
client as `tickwork api` builds it): every returned id is in its queue and the ledger exactly once,
a batch with one invalid task sends none, a replayed key gets the first answer, and a batch of no
tasks or of more than 1,000 is refused."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

from services.api.schemas import MAX_BATCH
from services.storage.db import session_scope
from services.storage.models import Task
from tests.support.api_in_process import InProcessApi
from tests.support.rabbit import decode

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True),
]
BATCH = "/api/v1/tasks/batch"
MONITOR = {"actor": "monitor_jobs"}


@pytest.fixture
def api(database_url, client):
    api = InProcessApi(database_url)
    api.app.state.client = client  # the real client: confirms from RabbitMQ, pending rows in the ledger
    return api


def ledger_ids(database_url: str) -> Counter[str]:
    with session_scope(database_url) as session:
        return Counter(session.exec(select(Task.message_id)))


def queued_ids(rabbit, queue: str) -> Counter[str]:
    return Counter(decode(body)["message_id"] for _, body in rabbit.peek(queue))


def test_every_task_of_a_full_batch_is_queued_and_recorded_once_in_request_order(api, rabbit, database_url):
    # Given 1,000 tasks, one of them for another queue in the middle
    tasks = [MONITOR] * MAX_BATCH
    tasks[500] = {"actor": "fetch_asset_info", "parameters": {"symbol": "AAPL"}, "priority": "high"}

    # When they are submitted in one batch
    reply = api.call("POST", BATCH, api.token("create", "notify"), json={"tasks": tasks})

    # Then the answer lists 1,000 distinct ids, in the request's order
    assert reply.status_code == 201, reply.text
    answered = reply.json()["tasks"]
    assert reply.json()["count"] == MAX_BATCH == len({t["task_id"] for t in answered})
    assert [t["actor"] for t in answered] == [t["actor"] for t in tasks]
    assert (answered[500]["queue"], answered[500]["priority"]) == ("refresh", "high")
    # And each is in its queue exactly once, and in the ledger exactly once, as pending
    ids = Counter(t["task_id"] for t in answered)
    assert queued_ids(rabbit, "notifications") + queued_ids(rabbit, "refresh") == ids
    assert ledger_ids(database_url) == ids
    with session_scope(database_url) as session:
        assert set(session.exec(select(Task.state))) == {"pending"}
    # And the request left one audit row
    assert [(e.action, e.status) for e in api.audit_trail()] == [("POST /api/v1/tasks/batch", 201)]


@pytest.mark.parametrize(
    ("invalid", "error"),
    [
        ({"actor": "fetch_asset_info", "parameters": {"symbol": 5}}, "tasks[2] (fetch_asset_info): invalid_payload"),
        ({"actor": "no_such_actor"}, "tasks[2] (no_such_actor): unknown_actor"),
        ({"actor": "monitor_jobs", "parameters": {"unexpected": 1}}, "tasks[2] (monitor_jobs): invalid_payload"),
    ],
)
def test_a_batch_with_one_task_the_contract_refuses_sends_none(api, rabbit, database_url, invalid, error):
    # Given a batch whose third task breaks the contract
    tasks = [MONITOR, {"actor": "fetch_asset_info", "parameters": {"symbol": "AAPL"}}, invalid, MONITOR]

    reply = api.call("POST", BATCH, api.token("admin"), json={"tasks": tasks})

    # Then it is refused naming that task, and nothing is in any queue or in the ledger
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"].startswith(error)
    assert reply.json()["detail"]["index"] == 2
    assert rabbit.depth("notifications") == rabbit.depth("refresh") == 0
    assert ledger_ids(database_url) == Counter()


def test_a_task_that_is_not_a_task_is_named_by_its_position(api, rabbit, database_url):
    reply = api.call("POST", BATCH, api.token("notify"), json={"tasks": [MONITOR, {"parameters": {}}]})
    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid request: body.tasks.1.actor: Field required"
    assert rabbit.depth("notifications") == 0 and ledger_ids(database_url) == Counter()


def test_a_replayed_key_gets_the_first_answer_and_sends_nothing_again(api, rabbit, database_url):
    token, key = api.token("notify"), {"Idempotency-Key": "batch-7d1c0e52"}
    body = {"tasks": [MONITOR, {**MONITOR, "priority": "low"}, MONITOR]}

    # Given a batch submitted with a key
    first = api.call("POST", BATCH, token, json=body, headers=dict(key))
    assert first.status_code == 201, first.text

    # When the same batch comes again with the same key
    again = api.call("POST", BATCH, token, json=body, headers=dict(key))

    # Then the first answer comes back as a replay, and the three tasks are queued and recorded once
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    ids = Counter(t["task_id"] for t in first.json()["tasks"])
    assert queued_ids(rabbit, "notifications") == ids == ledger_ids(database_url)
    # And the key with another body is a conflict, which sends nothing either
    other = api.call("POST", BATCH, token, json={"tasks": [MONITOR]}, headers=dict(key))
    assert other.status_code == 409 and "different request" in other.json()["error"]
    assert rabbit.depth("notifications") == 3


def test_a_refused_batch_lets_go_of_its_key(api, rabbit):
    token, key = api.token("notify"), {"Idempotency-Key": "batch-retry"}
    refused = api.call("POST", BATCH, token, json={"tasks": [{**MONITOR, "parameters": {"x": 1}}]}, headers=dict(key))
    assert refused.status_code == 422
    accepted = api.call("POST", BATCH, token, json={"tasks": [MONITOR]}, headers=dict(key))
    assert accepted.status_code == 201 and rabbit.depth("notifications") == 1


@pytest.mark.parametrize(
    ("count", "error"),
    [
        (0, "invalid request: body.tasks: List should have at least 1 item after validation, not 0"),
        (MAX_BATCH + 1, "invalid request: body.tasks: List should have at most 1000 items after validation, not 1001"),
    ],
)
def test_an_empty_or_oversized_batch_is_refused(api, rabbit, database_url, count, error):
    reply = api.call("POST", BATCH, api.token("notify"), json={"tasks": [MONITOR] * count})
    assert reply.status_code == 422 and reply.json()["error"] == error
    assert rabbit.depth("notifications") == 0 and ledger_ids(database_url) == Counter()


def test_each_task_needs_its_actors_scope(api, rabbit):
    tasks = [{"actor": "fetch_asset_info", "parameters": {"symbol": "AAPL"}}, MONITOR]
    reply = api.call("POST", BATCH, api.token("create"), json={"tasks": tasks})
    assert reply.status_code == 403
    assert reply.json()["error"] == "tasks[1] (monitor_jobs): this token lacks the 'notify' scope"
    assert rabbit.depth("refresh") == 0


def test_a_body_over_the_batch_limit_is_refused_before_it_is_read(api, rabbit):
    padding = "x" * (api.app.state.settings.tickwork_api_max_batch_body_bytes + 1)
    reply = api.call("POST", BATCH, api.token("notify"), json={"tasks": [MONITOR], "padding": padding})
    assert reply.status_code == 413
    # while a batch past the 64 KiB of single requests is taken
    tasks = [
        {"actor": "fetch_asset_info", "parameters": {"symbol": f"SYM{i}"}, "priority": "low"} for i in range(MAX_BATCH)
    ]
    assert len(str(tasks)) > api.app.state.settings.tickwork_api_max_body_bytes
    assert api.call("POST", BATCH, api.token("create"), json={"tasks": tasks}).status_code == 201
    assert rabbit.depth("refresh") == MAX_BATCH
