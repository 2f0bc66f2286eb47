"""The scheduler for real: `tickwork scheduler` and `periodiq actors` side by side, a worker, RabbitMQ."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from services.contract.envelope import ScheduleStamp
from services.engine.client import Send
from services.storage.db import session_scope
from services.storage.models import ScheduledRun, Task
from tests.support.ledger import wait_state
from tests.support.ports import free_port
from tests.support.probe_contract import FAST_RETRY
from tests.support.workers import ROOT, read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq
BIN = Path(sys.executable).parent


@pytest.fixture
def start_scheduler(worker_env, tmp_path):
    processes = []

    def start(*command: str) -> int:
        port = free_port()
        log = (tmp_path / f"scheduler-{len(processes)}.log").open("ab")
        env = {**worker_env, "TICKWORK_SCHEDULER_METRICS_PORT": str(port)}
        processes.append(
            subprocess.Popen([str(BIN / command[0]), *command[1:]], cwd=ROOT, env=env, stdout=log, stderr=log)
        )
        return port

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


def tickwork(worker_env, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "tickwork"), *args], cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_two_scheduler_processes_send_one_run_per_tick_and_the_worker_completes_it(
    start_workers, start_scheduler, worker_env, database_url
):
    # Given a worker, and two schedulers started the two documented ways
    start_workers(queues=["notifications"])
    port = start_scheduler("tickwork", "scheduler")
    start_scheduler("periodiq", "actors")

    # When the next minute comes (job-monitor runs every minute)
    def completed_runs():
        with session_scope(database_url) as session:
            query = select(ScheduledRun, Task).join(Task, Task.message_id == ScheduledRun.message_id)
            # alert-rules (every 5 min) may tick in the same minute: only job-monitor's runs count here
            query = query.where(ScheduledRun.job == "job-monitor")
            return [(run, task) for run, task in session.exec(query) if task.state == "completed"]

    [(run, task)] = wait_for(completed_runs, 75, "job-monitor's first scheduled run to complete", interval=0.5)
    # Then exactly one message was sent for that tick, and it ran on the worker
    assert run.job == "job-monitor" and run.kind == "scheduled" and task.actor == "monitor_jobs"
    assert task.result_summary and "overdue" in task.result_summary
    with session_scope(database_url) as session:
        sent = session.exec(select(Task).where(Task.actor == "monitor_jobs")).all()
    assert len(sent) == 1
    # The job list shows it, and the scheduler's metrics report the success
    jobs = {job["name"]: job for job in json.loads(tickwork(worker_env, "jobs", "list", "--json"))}
    assert jobs["job-monitor"]["state"] == "active" and jobs["job-monitor"]["last_success_at"]
    assert jobs["bot-counters-reset"]["state"] == "active"  # every job's actor is implemented now

    def scraped():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            body = reply.read().decode()
        return 'tickwork_schedule_last_success_timestamp{job_name="job-monitor"}' in body and body

    body = wait_for(scraped, 20, "the last-success gauge", interval=1)
    assert 'tickwork_schedule_overdue{job_name="job-monitor"} 0.0' in body


def test_trigger_pause_and_resume_from_the_cli(start_workers, worker_env, database_url):
    start_workers(queues=["notifications"])
    # the scheduler records the timetable; here it is not running, so nothing else sends
    from actors.timetable import TIMETABLE
    from services.scheduling.store import sync_jobs

    with session_scope(database_url) as session:
        sync_jobs(session=session, jobs=TIMETABLE, active={"job-monitor"}, now=datetime.now(UTC))
    assert tickwork(worker_env, "jobs", "pause", "job-monitor") == "job job-monitor paused\n"
    triggered = json.loads(tickwork(worker_env, "jobs", "trigger", "job-monitor", "--json"))
    wait_state(database_url, triggered["message_id"], "completed")
    listed = {job["name"]: job for job in json.loads(tickwork(worker_env, "jobs", "list", "--json"))}
    assert listed["job-monitor"]["state"] == "paused"
    assert listed["job-monitor"]["last_run_state"] == "completed" and listed["job-monitor"]["last_success_at"]
    assert tickwork(worker_env, "jobs", "resume", "job-monitor") == "job job-monitor resumed\n"
    failed = subprocess.run(
        [str(BIN / "tickwork"), "jobs", "pause", "no-such-job"], env=worker_env, capture_output=True, text=True
    )
    assert failed.returncode == 2 and "no scheduled job named 'no-such-job'" in failed.stderr


def test_a_failed_scheduled_run_is_retried_after_its_deadline(start_workers, client, database_url, probe_log):
    # periodiq's middleware would skip this retry: it is older than 30 s... here, than its deadline
    start_workers(queues=["refresh"])
    now = datetime.now(UTC)
    stamp = ScheduleStamp("flaky-job", now, skip_after=now + timedelta(seconds=0.3))
    [sent] = client.send_many([Send("probe_flaky", {"tag": "periodic", "fail_times": 1}, schedule=stamp)])
    wait_state(database_url, sent.message_id, "completed")
    runs = [r for r in read_probe_log(probe_log) if r["tag"] == "periodic"]
    assert [r["retries"] for r in runs] == [0, 1]
    assert runs[1]["t"] - now.timestamp() >= FAST_RETRY.first_delay_s > 0.3


def test_a_scheduled_run_delivered_after_its_deadline_is_skipped(start_workers, client, database_url, probe_log):
    now = datetime.now(UTC)
    stamp = ScheduleStamp("late-job", now - timedelta(minutes=5), skip_after=now - timedelta(minutes=4))
    [sent] = client.send_many([Send("probe_record", {"tag": "too-late"}, schedule=stamp)])
    group = start_workers(queues=["refresh"])
    task = wait_state(database_url, sent.message_id, "skipped")
    assert task.error_type == "Outdated" and "late-job" in task.error_message
    assert task.scheduled_for is not None
    time.sleep(0.2)
    assert not [r for r in read_probe_log(probe_log) if r["tag"] == "too-late"]
    assert 'tickwork_schedule_skipped_total{job_name="unknown",reason="outdated"} 1.0' in group.metrics()


def test_the_main_job_runs_the_workers_the_scheduler_and_the_api(worker_env):
    # `tickwork run` is what the README's run command starts
    ports = {
        "METRICS_PORT": free_port(),
        "TICKWORK_SCHEDULER_METRICS_PORT": free_port(),
        "TICKWORK_API_PORT": free_port(),
    }
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    env = {**worker_env, **{name: str(port) for name, port in ports.items()}, "TICKWORK_SANDBOX_URL": sandbox_url}
    env.pop("TICKWORK_CONTRACT_MODULES")
    main = subprocess.Popen([str(BIN / "tickwork"), "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:

        def answers(port: int, path: str) -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as reply:
                    return reply.status == 200
            except OSError:
                return False

        wait_for(lambda: answers(ports["METRICS_PORT"], "/healthz"), 60, "the orders group")
        wait_for(lambda: answers(ports["TICKWORK_SCHEDULER_METRICS_PORT"], "/metrics"), 60, "the scheduler")
        wait_for(lambda: answers(ports["TICKWORK_API_PORT"], "/readyz"), 60, "the API")
        # and real work at once: the demo's instruments priced from the sandbox market it started
        wait_for(lambda: answers(int(sandbox_url.rsplit(":", 1)[1]), "/_sandbox/health"), 30, "the sandbox")
        wait_for(lambda: priced(worker_env["DATABASE_URL"]) >= 10, 60, "the demo's prices")
        # The scheduler serves their freshness
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['TICKWORK_SCHEDULER_METRICS_PORT']}/metrics") as reply:
            assert 'tickwork_instruments{asset_class="crypto"}' in reply.read().decode()
    finally:
        main.send_signal(2)  # Ctrl-C
        output, _ = main.communicate(timeout=60)
    assert main.returncode == 0
    first_line = output.splitlines()[0]
    assert first_line == (
        f"tickwork: market data: simulated by the sandbox market at {sandbox_url} "
        "(TICKWORK_MARKET_DATA=live for the real providers)"
    )
    assert "scheduler" in output and "worker group orders" in output and "REST API" in output
    assert "demo data: added" in output


def priced(database_url: str) -> int:
    from sqlalchemy import func

    from services.storage.models import Instrument

    with session_scope(database_url) as session:
        return session.exec(select(func.count()).where(Instrument.last_price.is_not(None))).one()
