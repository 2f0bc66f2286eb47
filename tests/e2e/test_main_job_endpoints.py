"""`tickwork run`'s announced metrics endpoints: each is served by its own process (issue 17), the
scheduler's default port moved past the groups' instead of colliding, and a group whose metrics
server cannot bind its port is stopped and said so, and restarted by the main job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from services.cli.worker_groups import WORKER_GROUPS
from tests.support.ports import free_port, free_port_run
from tests.support.processes import cmdline
from tests.support.workers import ROOT, wait_for

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]
BIN = Path(sys.executable).parent
ANNOUNCED = re.compile(r"tickwork: (worker group (\w+)|scheduler) .*metrics http://0\.0\.0\.0:(\d+)/metrics")


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
            return reply.status, reply.read().decode()
    except OSError:
        return 0, ""


def test_each_announced_metrics_endpoint_is_served_by_its_own_process(worker_env):
    # Given the main job, with the scheduler's port set to one the groups take (as the defaults did);
    # below the ephemeral range, where polling a port not bound yet cannot connect the poll to itself
    # (a client given that same port as its own answers its own request: "BadStatusLine: GET ...")
    first = free_port_run(len(WORKER_GROUPS) + 1)
    env = {
        **worker_env,
        "METRICS_PORT": str(first),
        "TICKWORK_SCHEDULER_METRICS_PORT": str(first + 1),
        "TICKWORK_API_PORT": str(free_port()),
        "TICKWORK_SANDBOX_URL": f"http://127.0.0.1:{free_port()}",
    }
    env.pop("TICKWORK_CONTRACT_MODULES")
    main = subprocess.Popen(
        [str(BIN / "tickwork"), "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(main.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        # When it has announced every endpoint
        def announced() -> dict[str, int]:
            found = {}
            for line in list(output):
                match = re.match(
                    r"tickwork: (worker group (\w+)|scheduler) .*metrics http://0\.0\.0\.0:(\d+)/metrics", line
                )
                if match:
                    found[match.group(2) or "scheduler"] = int(match.group(3))
            return found if len(found) == len(WORKER_GROUPS) + 1 else {}

        ports = wait_for(announced, 60, "the start-up lines")
        # Then no two share a port, and the scheduler moved past the groups'
        assert len(set(ports.values())) == len(ports)
        assert ports["scheduler"] == first + len(WORKER_GROUPS)
        # ... each group's endpoint is served by that group's own Dramatiq process
        for group in WORKER_GROUPS:
            port = ports[group.name]
            status, body = wait_for(lambda p=port: (r := get(p, "/healthz"))[0] == 200 and r, 90, group.name)
            line = cmdline(json.loads(body)["group"])
            assert f"-Q {' '.join(group.queues)} " in line, (group.name, line)
            status, metrics = get(ports[group.name], "/metrics")
            # (not the scheduler's: its market-data gauges; tickwork_schedule_skipped_total is a worker's)
            assert status == 200 and "tickwork_instruments" not in metrics
        # ... and the scheduler's is the scheduler's
        status, metrics = wait_for(lambda: (r := get(ports["scheduler"], "/metrics"))[0] == 200 and r, 60, "scheduler")
        assert "tickwork_instruments" in metrics and "dramatiq_" not in metrics
    finally:
        main.send_signal(2)  # Ctrl-C
        main.wait(timeout=90)
        reader.join(10)
    assert main.returncode == 0, "".join(output)[-3000:]
    assert not [line for line in output if "exited with status" in line], "".join(output)[-3000:]
