"""Pause, resume, toggle and trigger by hand (services/scheduling/control.py), against a fake job
store, a fake session factory and a fake sender: what is claimed, sent, marked or released, when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.engine.client import SentMessage
from services.engine.priority import Priority
from services.scheduling.control import job_status, pause_job, resume_job, toggle_job, trigger_job
from services.scheduling.store import JobNotFound, JobStatus
from services.storage.models import ScheduledJob
from tests.support.fakes import FakeSession, FakeSessions

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


class FakeJobs:
    """A JobStore over a dict of jobs; every call lands in `events`."""

    def __init__(self, events: list, sessions: FakeSessions | None = None) -> None:
        self.events, self.sessions = events, sessions
        self.rows = {
            "prices": ScheduledJob(
                name="prices",
                actor="refresh_all_prices",
                schedule="* * * * *",
                args={"asset_classes": ["crypto"]},
                grace_s=30,
                overdue_after_s=600,
                created_at=NOW,
                updated_at=NOW,
            )
        }

    def _in_transaction(self, session) -> None:
        assert isinstance(session, FakeSession)
        assert self.sessions is None or self.sessions.in_transaction

    def get_job(self, *, session, name):
        self._in_transaction(session)
        if name not in self.rows:
            raise JobNotFound(f"no scheduled job named {name!r}")
        return self.rows[name]

    def set_paused(self, *, session, name, paused, by, now):
        row = self.get_job(session=session, name=name)
        row.paused, row.paused_by = paused, by if paused else row.paused_by
        self.events.append(("paused" if paused else "resumed", name, by))
        return row

    def list_jobs(self, *, session):
        self._in_transaction(session)
        return [
            JobStatus(
                row.name, row.actor, row.schedule, "paused" if row.paused else "active", None, None, None, None, ""
            )
            for row in self.rows.values()
        ]

    def claim_run(self, *, session, job, due_at, kind, scheduler, now):
        self._in_transaction(session)
        self.events.append(("claim", job, kind, scheduler))
        return f"run-of-{job}"

    def mark_sent(self, *, session, job, due_at, scheduler, now):
        self._in_transaction(session)
        self.events.append(("sent", job))

    def release_claim(self, *, session, job, due_at, scheduler):
        self._in_transaction(session)
        self.events.append(("released", job))


class FakeSender:
    def __init__(self, events: list, sessions: FakeSessions, *, fails: bool = False) -> None:
        self.events, self.sessions, self.fails = events, sessions, fails
        self.sent: list = []

    def send_many(self, requests):
        assert not self.sessions.in_transaction  # no transaction is held while the broker confirms
        [request] = list(requests)
        if self.fails:
            raise ConnectionError("broker down")
        self.sent.append(request)
        self.events.append(("publish", request.actor))
        return [SentMessage(request.message_id, request.actor, "refresh", Priority.NORMAL, None)]


def test_pause_then_resume_flips_the_flag_and_records_who():
    events: list = []
    jobs = FakeJobs(events)
    assert pause_job("prices", session=FakeSession(), by="ops", jobs=jobs).paused is True
    assert resume_job("prices", session=FakeSession(), by="ops", jobs=jobs).paused is False
    assert events == [("paused", "prices", "ops"), ("resumed", "prices", "ops")]


def test_toggle_without_a_wish_flips_and_answers_the_committed_state():
    # Given an active job
    events: list = []
    sessions = FakeSessions(events)
    jobs = FakeJobs(events, sessions)

    # When it is toggled twice with no body
    first = toggle_job("prices", session_factory=sessions, by="api:admin", paused=None, jobs=jobs)
    second = toggle_job("prices", session_factory=sessions, by="api:admin", paused=None, jobs=jobs)

    # Then it was paused, then resumed, each change committed before its status was read
    assert (first.state, second.state) == ("paused", "active")
    assert events[:5] == ["begin", ("paused", "prices", "api:admin"), "commit", "begin", "commit"]


def test_toggle_with_a_wish_sets_it_even_when_already_so():
    events: list = []
    sessions = FakeSessions(events)
    jobs = FakeJobs(events, sessions)
    assert toggle_job("prices", session_factory=sessions, by="x", paused=False, jobs=jobs).state == "active"
    assert ("resumed", "prices", "x") in events


def test_status_of_an_unknown_job_is_not_found():
    with pytest.raises(JobNotFound):
        job_status("nope", session=FakeSession(), jobs=FakeJobs([]))


def test_trigger_claims_sends_then_marks_the_run_sent():
    # Given a job (paused: a person asked for it anyway)
    events: list = []
    sessions = FakeSessions(events)
    jobs, sender = FakeJobs(events, sessions), FakeSender(events, sessions)
    jobs.rows["prices"].paused = True

    # When it is triggered
    sent = trigger_job("prices", session_factory=sessions, client=sender, by="cli:ann", jobs=jobs, clock=lambda: NOW)

    # Then the run was claimed and committed, published, then marked sent in its own unit of work
    assert events == [
        "begin",
        ("claim", "prices", "manual", "cli:ann"),
        "commit",
        ("publish", "refresh_all_prices"),
        "begin",
        ("sent", "prices"),
        "commit",
    ]
    [request] = sender.sent
    assert request.kwargs == {"asset_classes": ["crypto"]} and request.message_id == "run-of-prices"
    assert request.schedule is not None and request.schedule.scheduled_at == NOW
    assert sent.message_id == "run-of-prices"


def test_a_failed_send_releases_the_claim_and_raises():
    events: list = []
    sessions = FakeSessions(events)
    jobs, sender = FakeJobs(events, sessions), FakeSender(events, sessions, fails=True)
    with pytest.raises(ConnectionError):
        trigger_job("prices", session_factory=sessions, client=sender, by="cli:ann", jobs=jobs, clock=lambda: NOW)
    assert [e for e in events if isinstance(e, tuple)] == [
        ("claim", "prices", "manual", "cli:ann"),
        ("released", "prices"),
    ]


def test_triggering_an_unknown_job_sends_nothing():
    events: list = []
    sessions = FakeSessions(events)
    jobs, sender = FakeJobs(events, sessions), FakeSender(events, sessions)
    with pytest.raises(JobNotFound):
        trigger_job("nope", session_factory=sessions, client=sender, by="x", jobs=jobs)
    assert sender.sent == [] and events == ["begin", "rollback"]
