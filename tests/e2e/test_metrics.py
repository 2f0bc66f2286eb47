"""One endpoint per worker group serves Dramatiq's and Tickwork's series from every process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.workers import ROOT, read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq


def samples(group, name, **labels):
    """Sum of the samples called `name` whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(group.metrics()):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_metrics_endpoint_serves_dramatiq_and_tickwork_series_from_all_processes(
    start_workers, client, rabbit, probe_log
):
    # Given a group of two worker processes
    group = start_workers(queues=["refresh"], processes=2, threads=2)
    # When 20 tasks complete, one fails for good and one malformed message arrives
    for i in range(20):
        client.send("probe_record", {"tag": f"m{i}", "sleep_ms": 100})
    client.send("probe_fatal", {"tag": "fatal"})
    rabbit.publish_raw("refresh", b"not json")
    wait_for(lambda: len([r for r in read_probe_log(probe_log) if r.get("event") == "done"]) == 20, 20, "20 tasks")
    wait_for(lambda: rabbit.depth("refresh.XQ") == 2, 5, "2 dead letters")

    # Then both processes did some of the work ...
    assert len({r["pid"] for r in read_probe_log(probe_log)}) == 2
    # ... and the one endpoint counts all of it, in both families of series
    labels = {"queue": "refresh", "actor": "probe_record"}
    wait_for(lambda: samples(group, "tickwork_tasks_total", state="completed", **labels) == 20, 5, "the counts")
    assert samples(group, "dramatiq_messages_total", queue_name="refresh", actor_name="probe_record") == 20
    assert samples(group, "tickwork_task_duration_seconds_count", **labels) == 20
    assert samples(group, "tickwork_task_queue_wait_seconds_count", **labels) == 20
    assert samples(group, "tickwork_tasks_total", actor="probe_fatal", state="failed") == 1
    assert samples(group, "tickwork_dead_letters_total", actor="probe_fatal", reason="failed") == 1
    # (an unreadable body is counted on the queue it was consumed from, not as "unknown")
    assert samples(group, "tickwork_dead_letters_total", queue="refresh", actor="unknown", reason="undecodable") == 1
    assert samples(group, "tickwork_tasks_in_flight", **labels) == 0


def test_restarted_group_serves_no_stale_series(start_workers, client, probe_log, worker_env):
    # Given a group that counted some work, then stopped
    metrics_dir = worker_env["TICKWORK_METRICS_DIR"]
    first = start_workers(queues=["refresh"], processes=2, threads=1)
    client.send("probe_record", {"tag": "before-restart"})
    labels = {"queue": "refresh", "actor": "probe_record", "state": "completed"}
    wait_for(lambda: samples(first, "tickwork_tasks_total", **labels) == 1, 10, "the first count")
    first.stop()
    # When the group is started again with the same metrics folder
    second = start_workers(queues=["refresh"], processes=2, threads=1, TICKWORK_METRICS_DIR=metrics_dir)
    # Then the old run's series are gone
    assert samples(second, "tickwork_tasks_total", **labels) == 0


def test_health_and_readiness_endpoints(start_workers):
    group = start_workers(queues=["refresh"])
    status, body = get(f"http://127.0.0.1:{group.metrics_port}/healthz")
    assert status == 200 and body["status"] == "alive"
    status, body = get(f"http://127.0.0.1:{group.metrics_port}/readyz")
    assert status == 200 and body == {"status": "ready", "broker": "ok", "database": "ok"}


def test_readiness_fails_when_the_database_is_unreachable(start_workers):
    group = start_workers(queues=["refresh"], DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    status, body = get(f"http://127.0.0.1:{group.metrics_port}/readyz")
    assert status == 503
    assert body["broker"] == "ok" and body["database"].startswith("error")


def test_every_metric_the_dashboards_may_use_is_exported(start_workers, client, probe_log, database_url):
    # Given a worker that completed, retried, delayed and dead-lettered work
    group = start_workers(queues=["refresh"])
    client.send("probe_record", {"tag": "one"})
    client.send("probe_record", {"tag": "later"}, delay_s=0.5)
    client.send("probe_flaky", {"tag": "flaky", "fail_times": 1})
    client.send("probe_fatal", {"tag": "fatal"})
    wait_for(
        lambda: (
            {"one", "later"} <= {r["tag"] for r in read_probe_log(probe_log)}
            and len([r for r in read_probe_log(probe_log) if r["tag"] == "flaky"]) == 2
        ),
        15,
        "the work",
    )
    exported = {s.name for f in text_string_to_metric_families(group.metrics()) for s in f.samples}
    exported |= scheduler_metric_names(database_url) | api_metric_names(database_url)
    # Then every dramatiq_/tickwork_ name of ops/known_metrics.txt is served (by workers, the
    # scheduler or the API)
    known = set()
    for line in (ROOT / "ops" / "known_metrics.txt").read_text().splitlines():
        name, _, kind = line.partition(" ")
        if name.startswith(("tickwork_", "dramatiq_")):
            known.add(f"{name}_bucket" if kind.strip() == "histogram" else name)
    assert known and known <= exported, sorted(known - exported)


def api_metric_names(database_url: str) -> set[str]:
    """What the API serves at /metrics once it has answered a request."""
    from tests.support.api_in_process import InProcessApi

    api = InProcessApi(database_url)
    api.call("GET", "/healthz")
    body = api.call("GET", "/metrics").text
    return {s.name for f in text_string_to_metric_families(body) for s in f.samples}


def scheduler_metric_names(database_url: str) -> set[str]:
    """What a scheduler serves once it has started: its own registry, read the same way."""
    from prometheus_client import generate_latest

    from actors.timetable import TIMETABLE
    from services.engine.ledger.tasks import record_submitted
    from services.scheduling import store
    from services.scheduling.metrics import SchedulerMetrics
    from services.scheduling.scheduler import Scheduler
    from services.storage.db import session_factory, session_scope
    from services.storage.models import Task
    from tests.support.scheduling import RecordingSender

    metrics = SchedulerMetrics()
    scheduler = Scheduler(
        TIMETABLE,
        session_factory=session_factory(database_url),
        send=RecordingSender(),
        scheduler_id="t",
        metrics=metrics,
    )
    now = datetime.now(UTC)
    scheduler.start(now)
    with session_scope(database_url) as session:  # one job has succeeded once
        task_id = store.claim_run(session=session, job="job-monitor", due_at=now, kind="manual", scheduler="t", now=now)
        record_submitted(
            session=session, message_id=task_id, actor="monitor_jobs", queue="notifications", priority="normal", args={}
        )
    with session_scope(database_url) as session:
        session.get(Task, task_id).state = "completed"
    metrics.refresh(scheduler, now)
    # As run_scheduler does: price freshness, read from the database (here one priced instrument)
    from decimal import Decimal

    from services.market_data.freshness_metrics import PriceFreshnessCollector
    from services.storage.models import Instrument

    with session_scope(database_url) as session:
        session.add(Instrument(symbol="AAPL", asset_class="equity", last_price=Decimal(1), last_price_at=now))
    metrics.registry.register(PriceFreshnessCollector(session_factory=session_factory(database_url), max_age_s=900))
    from services.trading.book_metrics import OrderBookCollector

    metrics.registry.register(
        OrderBookCollector(session_factory=session_factory(database_url))
    )  # open orders, rejections
    text = generate_latest(metrics.registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def series(group, name, **labels):
    """The samples called `name` whose labels include `labels` (present even when 0)."""
    return [
        sample
        for family in text_string_to_metric_families(group.metrics())
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]


def test_every_known_series_exists_at_zero_before_the_first_event(start_workers):
    # Given a worker group that has processed nothing yet
    group = start_workers(queues=["refresh"])
    wait_for(lambda: series(group, "tickwork_tasks_total", actor="probe_record"), 10, "the boot-time series")
    # Then the first dead letter or error will be an increase from 0, which rate() and increase() see
    for reason in ("undecodable", "malformed_envelope", "unknown_actor", "oversized"):
        [sample] = series(group, "tickwork_dead_letters_total", queue="refresh", actor="unknown", reason=reason)
        assert sample.value == 0
    for reason in ("failed", "retries_exhausted", "invalid_payload"):
        [sample] = series(group, "tickwork_dead_letters_total", queue="refresh", actor="probe_record", reason=reason)
        assert sample.value == 0
    labels = {"queue_name": "refresh", "actor_name": "probe_record"}
    for name in ("dramatiq_message_errors_total", "dramatiq_messages_total", "dramatiq_message_retries_total"):
        [sample] = series(group, name, **labels)
        assert sample.value == 0, name
