"""The API's own /metrics: every answer counted by route template, method and status, its latency, and
the manual runs of scheduled jobs as `tickwork_schedule_runs_total`, each series at 0 from the start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from actors.timetable import TIMETABLE
from services.scheduling.store import sync_jobs
from services.storage.db import session_scope
from tests.support.api_in_process import InProcessApi
from tests.support.fakes import ConfirmingSender

pytestmark = pytest.mark.both_databases


@pytest.fixture
def api(database_url):
    api = InProcessApi(database_url)
    with session_scope(database_url) as session:
        sync_jobs(session=session, jobs=TIMETABLE, active={job.name for job in TIMETABLE}, now=datetime.now(UTC))
    return api


def samples(api: InProcessApi) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = api.call("GET", "/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def requests(found: dict, route: str, method: str, status: str) -> float:
    return found.get(
        ("tickwork_api_requests_total", frozenset({"route": route, "method": method, "status": status}.items())), 0
    )


def test_every_answer_is_counted_by_route_template_and_status(api):
    reader = api.token("read")
    # Given a fresh API, its routes' latency series exist before any request
    before = samples(api)
    assert (
        before[
            (
                "tickwork_api_request_seconds_count",
                frozenset({"route": "/api/v1/tasks/{task_id}", "method": "GET"}.items()),
            )
        ]
        == 0
    )
    # When it answers a list, an unknown id, a missing token and a path no route has
    assert api.call("GET", "/api/v1/tasks", reader).status_code == 200
    assert api.call("GET", "/api/v1/tasks/no-such-task", reader).status_code == 404
    assert api.call("GET", "/api/v1/tasks/another", reader).status_code == 404
    assert api.call("GET", "/api/v1/tasks").status_code == 401
    assert api.call("GET", "/no/such/path").status_code == 404
    assert api.call("GET", "/console/login").status_code == 200
    after = samples(api)
    # Then each is counted under its route's template, never the path itself
    assert requests(after, "/api/v1/tasks", "GET", "200") == 1
    assert requests(after, "/api/v1/tasks/{task_id}", "GET", "404") == 2
    assert requests(after, "/api/v1/tasks", "GET", "401") == 1
    assert requests(after, "unmatched", "GET", "404") == 1
    assert requests(after, "/console/login", "GET", "200") == 1  # the console's routes with its prefix
    assert not any("no-such-task" in value for _, labels in after for _, value in labels)
    # And timed
    count = after[
        ("tickwork_api_request_seconds_count", frozenset({"route": "/api/v1/tasks/{task_id}", "method": "GET"}.items()))
    ]
    assert count == 2


def test_manual_runs_are_counted_as_schedule_runs(api):
    api.app.state.client = sender = ConfirmingSender()
    admin = api.token("admin")
    # Given every job's manual-run series at 0 before any trigger
    runs = {job.name: ("tickwork_schedule_runs_total", frozenset({"job_name": job.name}.items())) for job in TIMETABLE}
    before = samples(api)
    assert all(before[key] == 0 for key in runs.values())
    # When an operator triggers one job twice
    job = TIMETABLE[0].name
    for _ in range(2):
        assert api.call("POST", f"/api/v1/jobs/{job}/trigger", admin).status_code == 202
    # Then both runs were sent and counted, and no other job moved
    after = samples(api)
    assert len(sender.sent) == 2 and after[runs[job]] == 2
    assert all(after[key] == 0 for name, key in runs.items() if name != job)
    # And a trigger of a job that does not exist counts nothing
    assert api.call("POST", "/api/v1/jobs/no-such-job/trigger", admin).status_code == 404
    assert samples(api)[runs[job]] == 2
