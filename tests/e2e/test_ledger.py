"""The task ledger, end to end: real workers, real RabbitMQ, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import time

import pika
import pytest

from tests.support.envelopes import raw_envelope
from tests.support.ledger import row, states_seen, wait_state
from tests.support.rabbit import decode
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.both_databases,
]


def test_completed_task_row_has_identity_timestamps_worker_and_result(start_workers, client, database_url):
    sent = client.send("probe_progress", {"tag": "ok", "steps": 2})
    assert row(database_url, sent.message_id).state == "pending"  # recorded by the client at once
    start_workers(queues=["refresh"])
    task = wait_state(database_url, sent.message_id, "completed")
    assert (task.actor, task.queue, task.priority, task.attempts) == ("probe_progress", "refresh", "normal", 1)
    assert task.args == {"tag": "ok", "steps": 2}
    assert task.created_at <= task.started_at <= task.finished_at
    assert task.progress == 1.0 and task.worker and ":" in task.worker
    assert json.loads(task.result_summary) == {"steps": 2}


def test_message_from_raw_amqp_gets_a_row_when_a_worker_first_sees_it(start_workers, rabbit, database_url):
    start_workers(queues=["refresh"])
    body = raw_envelope(kwargs={"tag": "raw"})
    message_id = body["message_id"]
    rabbit.channel.basic_publish("", "refresh", json.dumps(body).encode(), pika.BasicProperties(delivery_mode=2))
    task = wait_state(database_url, message_id, "completed")
    assert task.priority == "low"  # no AMQP priority property: documented as low


def test_retrying_then_running_then_completed(start_workers, client, database_url):
    start_workers(queues=["refresh"])
    sent = client.send("probe_flaky", {"tag": "flaky", "fail_times": 1})
    seen = states_seen(database_url, sent.message_id, until={"completed"})
    assert "retrying" in seen and seen[-1] == "completed"
    assert seen.index("retrying") < len(seen) - 1
    task = row(database_url, sent.message_id)
    assert task.attempts == 2 and task.error_type is None


def test_failed_task_keeps_error_type_message_and_traceback(start_workers, client, database_url):
    start_workers(queues=["refresh"])
    sent = client.send("probe_fatal", {"tag": "fatal"})
    task = wait_state(database_url, sent.message_id, "failed")
    assert task.error_type == "ProbeRefused"
    assert "refuses to run" in task.error_message and "Traceback" in task.error_traceback


def test_rejected_message_is_failed_with_its_reason(start_workers, rabbit, database_url):
    start_workers(queues=["refresh"])
    body = raw_envelope(kwargs={"tag": 1})
    message_id = body["message_id"]
    rabbit.publish_raw("refresh", json.dumps(body).encode())
    task = wait_state(database_url, message_id, "failed")
    assert task.error_type == "invalid_payload" and "tag" in task.error_message


def test_delayed_task_is_pending_with_its_schedule_until_it_runs(start_workers, client, database_url):
    start_workers(queues=["refresh"])
    sent = client.send("probe_record", {"tag": "later"}, delay_s=2)
    task = row(database_url, sent.message_id)
    assert task.state == "pending" and task.scheduled_for is not None
    done = wait_state(database_url, sent.message_id, "completed")
    assert done.started_at >= done.scheduled_for.replace(microsecond=0)


def test_progress_and_log_lines_land_on_the_row_bounded(start_workers, client, database_url):
    start_workers(queues=["refresh"], TICKWORK_TASK_LOG_MAX_LINES="20")
    sent = client.send("probe_progress", {"tag": "steps", "steps": 60, "sleep_ms": 30})
    during = wait_for(lambda: (t := row(database_url, sent.message_id)) and 0 < t.progress < 1 and t, 10, "progress")
    assert during.state == "running" and during.current_step.startswith("step ")
    wait_state(database_url, sent.message_id, "completed")
    from services.engine.ledger.tasks import task_log
    from services.storage.db import session_scope

    with session_scope(database_url) as session:
        lines = task_log(session=session, message_id=sent.message_id)
    assert len(lines) == 20
    assert lines[-1].endswith("line 60 of steps") and lines[0].endswith("line 41 of steps")


def test_cancelled_pending_task_is_skipped_by_every_worker(
    start_workers, client, rabbit, database_url, worker_env, probe_log
):
    from services.engine.cancellation import RabbitBroadcast, cancel_task
    from services.storage.db import session_factory

    # Given two worker processes and a task waiting its turn
    start_workers(queues=["refresh"], processes=2, threads=2)
    sent = client.send("probe_record", {"tag": "never"}, delay_s=2)
    # When it is cancelled before it is due
    cancel_task(
        sent.message_id,
        session_factory=session_factory(database_url),
        broadcast=RabbitBroadcast(rabbitmq_url=worker_env["RABBITMQ_URL"]),
    )
    assert row(database_url, sent.message_id).state == "cancelled"
    # Then it never runs, and the message is consumed, not dead-lettered
    wait_for(lambda: rabbit.depth("refresh.DQ") == 0 and rabbit.depth("refresh") == 0, 10, "the message to go")
    time.sleep(1)
    assert not [r for r in read_probe_log(probe_log) if r["tag"] == "never"]
    assert row(database_url, sent.message_id).state == "cancelled"
    assert rabbit.depth("refresh.XQ") == 0


def test_cancellation_survives_a_worker_restart(start_workers, client, rabbit, database_url, worker_env, probe_log):
    from services.engine.cancellation import RabbitBroadcast, cancel_task
    from services.storage.db import session_factory

    # Given a task sent while no worker runs, and cancelled while still no worker runs
    sent = client.send("probe_record", {"tag": "cancelled-offline"})
    cancel_task(
        sent.message_id,
        session_factory=session_factory(database_url),
        broadcast=RabbitBroadcast(rabbitmq_url=worker_env["RABBITMQ_URL"]),
    )
    # When workers start afterwards
    start_workers(queues=["refresh"], processes=2, threads=1)
    # Then they skip it
    wait_for(lambda: rabbit.depth("refresh") == 0, 10, "the message to be consumed")
    time.sleep(0.5)
    assert not read_probe_log(probe_log)
    assert row(database_url, sent.message_id).state == "cancelled"


@pytest.mark.parametrize("actor", ["probe_busy", "probe_cooperative"])
def test_cancelled_running_30_second_task_stops_within_2_seconds(
    start_workers, client, database_url, worker_env, probe_log, rabbit, actor
):
    from services.engine.cancellation import RabbitBroadcast, cancel_task
    from services.storage.db import session_factory

    start_workers(queues=["refresh"], processes=2, threads=2)
    sent = client.send(actor, {"tag": "long", "seconds": 30})
    wait_state(database_url, sent.message_id, "running")
    asked = time.monotonic()
    cancel_task(
        sent.message_id,
        session_factory=session_factory(database_url),
        broadcast=RabbitBroadcast(rabbitmq_url=worker_env["RABBITMQ_URL"]),
    )
    task = wait_state(database_url, sent.message_id, "cancelled", timeout=5)
    assert time.monotonic() - asked < 2.0
    assert task.finished_at is not None and task.error_type == "TaskCancelled"
    assert not [r for r in read_probe_log(probe_log) if r["event"] == "done"]
    time.sleep(0.5)
    assert rabbit.depth("refresh.XQ") == 0 and rabbit.depth("refresh.DQ") == 0


def test_workers_register_heartbeat_and_are_marked_stopped(start_workers, database_url):
    from services.engine.workers import list_workers
    from services.storage.db import session_scope

    group = start_workers(queues=["refresh", "orders"], processes=2, threads=1, TICKWORK_HEARTBEAT_SECONDS="0.2")

    def registered():
        with session_scope(database_url) as session:
            found = [w for w in list_workers(session=session) if w.stopped_at is None]
        return len(found) == 2 and found

    found = wait_for(registered, 10, "two registered workers")
    assert all(w.queues == "orders,refresh" for w in found)
    first_beat = found[0].heartbeat_at
    wait_for(lambda: row_worker(database_url, found[0].id).heartbeat_at > first_beat, 5, "a heartbeat")
    group.stop()
    assert all(row_worker(database_url, w.id).stopped_at is not None for w in found)


def row_worker(database_url, worker_id):
    from services.storage.db import session_scope
    from services.storage.models import WorkerProcess

    with session_scope(database_url) as session:
        return session.get(WorkerProcess, worker_id)


def test_dead_letter_replay_of_one_and_of_all_of_an_actor(start_workers, client, rabbit, database_url, worker_env):
    from services.engine.dead_letters import DeadLetters, Selector
    from services.storage.db import session_factory

    start_workers(queues=["refresh"])
    # Given three dead letters of probe_fatal and one of probe_flaky
    fatal = [client.send("probe_fatal", {"tag": f"f{i}"}).message_id for i in range(3)]
    flaky = client.send("probe_flaky", {"tag": "x", "fail_times": 9}, retry={"max_retries": 0}).message_id
    wait_for(lambda: rabbit.depth("refresh.XQ") == 4, 10, "4 dead letters")
    letters = DeadLetters(rabbitmq_url=worker_env["RABBITMQ_URL"], session_factory=session_factory(database_url))
    assert {d.message_id for d in letters.find()} == {*fatal, flaky}
    assert letters.get(flaky).reason == "failed" or letters.get(flaky).reason == "retries_exhausted"

    # When one is replayed: it runs again (and fails again, as it must), one attempt, fresh budget
    replayed = letters.replay(where=Selector(message_id=fatal[0]), requested_by="test")
    assert [d.message_id for d in replayed] == [fatal[0]]
    wait_for(
        lambda: (
            rabbit.depth("refresh.XQ") == 4
            and (t := row(database_url, fatal[0]))
            and t.state == "failed"
            and t.updated_at
        ),
        10,
        "the replayed message to fail again",
    )
    again = decode(next(body for _, body in rabbit.dead_letters("refresh") if fatal[0].encode() in body))
    assert again["options"]["dead_letter"]["attempts"] == 1

    # When every letter of one actor is replayed with a flaky that now succeeds
    moved = letters.replay(where=Selector(actor="probe_flaky"), requested_by="test")
    assert [d.message_id for d in moved] == [flaky]
    # Then the XQ holds exactly the others and the ledger agrees with it
    wait_for(
        lambda: row(database_url, flaky).state in ("failed", "completed") and rabbit.depth("refresh.XQ") >= 3,
        10,
        "the flaky replay to finish",
    )
    in_xq = {d.message_id for d in letters.find()}
    ledger_failed = {m for m in [*fatal, flaky] if row(database_url, m).state == "failed"}
    assert in_xq == ledger_failed

    # And the actions are recorded
    from sqlmodel import select

    from services.storage.db import session_scope
    from services.storage.models import DeadLetterAction

    with session_scope(database_url) as session:
        actions = session.exec(select(DeadLetterAction)).all()
    assert [(a.action, a.count) for a in actions] == [("replay", 1), ("replay", 1)]
