"""Starts worker groups the way a user does: `dramatiq actors tests.support.probe_actors ...`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRAMATIQ = str(Path(sys.executable).with_name("dramatiq"))


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def read_probe_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class WorkerGroup:
    """One `dramatiq` invocation: a main process, its worker processes and the metrics fork."""

    def __init__(
        self, env: dict[str, str], *, queues: list[str] | None, processes: int, threads: int, log_path: Path
    ) -> None:
        self.metrics_port = int(env["METRICS_PORT"])
        command = [DRAMATIQ, "actors", "tests.support.probe_actors", "-p", str(processes), "-t", str(threads)]
        if queues:
            command += ["-Q", *queues]
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(self._ready, 60, f"worker group {command} to serve /healthz (log: {log_path})")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"worker group exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=1) as reply:
                return reply.status == 200
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            # To the main process only, as a supervisor would: it stops its workers gracefully.
            # (A TERM to the whole group reaches each worker twice, which Dramatiq takes as "kill".)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
