"""`tickwork api` with several server processes (TICKWORK_API_PROCESSES): one port, every process
serving, `/metrics` adding up all of them whichever answers, and a process that dies replaced."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable

import pytest
import requests

from tests.support.api import ApiServer
from tests.support.workers import wait_for

pytestmark = pytest.mark.rabbitmq

UNAUTHENTICATED = re.compile(
    r'^tickwork_api_requests_total\{method="GET",route="/api/v1/tasks",status="401"\} (\S+)$', re.M
)


def pid_answering(server: ApiServer) -> int:
    # requests.get opens a new connection each time: the kernel hands it to whichever process accepts
    return requests.get(f"{server.url}/healthz", timeout=10).json()["pid"]


def pids_answering(server: ApiServer, until: Callable[[set[int]], bool], what: str) -> set[int]:
    """The pids seen answering /healthz, asked until `until(seen)` holds."""
    seen: set[int] = set()

    def enough() -> bool:
        seen.add(pid_answering(server))
        return until(seen)

    wait_for(enough, 60, what)
    return seen


def unauthenticated_count(server: ApiServer) -> float:
    found = UNAUTHENTICATED.search(requests.get(f"{server.url}/metrics", timeout=10).text)
    return float(found.group(1)) if found else 0.0


def test_every_process_serves_and_metrics_add_up_over_them(worker_env, tmp_path, rabbit):
    # Given the API with two server processes
    server = ApiServer({**worker_env, "TICKWORK_API_PROCESSES": "2"}, tmp_path / "api.log")
    try:
        seen = pids_answering(server, lambda pids: len(pids) == 2, "both processes answering")
        assert server.process.pid not in seen  # the supervisor serves nothing itself

        # When 40 requests are answered by whichever process takes each
        for _ in range(40):
            assert requests.get(f"{server.url}/api/v1/tasks", timeout=10).status_code == 401

        # Then every scrape, whichever process answers it, counts all 40
        assert [unauthenticated_count(server) for _ in range(8)] == [40.0] * 8

        # When one process is killed, the supervisor starts another, and the count survives it
        os.kill(min(seen), signal.SIGKILL)
        pids_answering(server, lambda pids: len(pids - seen) == 1, "a new process answering")
        assert [unauthenticated_count(server) for _ in range(8)] == [40.0] * 8
    finally:
        server.stop()
    # ... and stopping removes the processes' metrics folder
    assert list((tmp_path / "metrics").iterdir()) == []


def test_one_process_serves_in_the_command_itself(worker_env, tmp_path, rabbit):
    server = ApiServer({**worker_env, "TICKWORK_API_PROCESSES": "1"}, tmp_path / "api.log")
    try:
        assert pid_answering(server) == server.process.pid
        requests.get(f"{server.url}/api/v1/tasks", timeout=10)
        assert unauthenticated_count(server) == 1.0
    finally:
        server.stop()
