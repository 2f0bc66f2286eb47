"""cancel_task (services/engine/cancellation.py) with fakes: the request is committed before any
worker is told, and a task that cannot be cancelled tells no one."""

from __future__ import annotations

import pytest

from services.engine.cancellation import cancel_task
from services.engine.ledger.tasks import TaskNotCancellable
from services.storage.models import Task
from tests.support.fakes import FakeSessions


class Ledger:
    """Fakes request_cancel over a dict of task states."""

    def __init__(self, events: list, sessions: FakeSessions, states: dict[str, str]) -> None:
        self.events, self.sessions, self.states = events, sessions, states

    def request(self, *, session, message_id):
        assert self.sessions.in_transaction and session is self.sessions.session
        state = self.states[message_id]
        if state in ("completed", "failed", "cancelled"):
            raise TaskNotCancellable(f"task {message_id} is already {state}")
        self.events.append(("requested", message_id))
        return Task(message_id=message_id, actor="probe_busy", queue="refresh", state=state)


def test_a_running_task_is_recorded_then_broadcast_to_every_worker():
    # Given a running task
    events: list = []
    sessions = FakeSessions(events)
    ledger = Ledger(events, sessions, {"t1": "running"})

    # When it is cancelled
    task = cancel_task("t1", session_factory=sessions, broadcast=events.append, request=ledger.request)

    # Then the request was committed first (it survives a restart), then the workers were told
    assert events == ["begin", ("requested", "t1"), "commit", "t1"]
    assert task.state == "running"  # its worker interrupts it


def test_a_finished_task_is_refused_and_no_worker_is_told():
    events: list = []
    sessions = FakeSessions(events)
    ledger = Ledger(events, sessions, {"t2": "completed"})
    with pytest.raises(TaskNotCancellable):
        cancel_task("t2", session_factory=sessions, broadcast=events.append, request=ledger.request)
    assert events == ["begin", "rollback"]
