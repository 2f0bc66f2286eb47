"""Worker groups, started as a user starts them and always stopped, even when the run fails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import free_port, free_port_run  # noqa: F401 (the benchmarks' ports: the tests' allocator)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DRAMATIQ = str(BIN / "dramatiq")
CELERY = str(BIN / "celery")

_running: list[Group] = []


class Group:
    """One command (`dramatiq ...` or `celery ... worker`) in its own session, so that SIGTERM to the
    process group reaches the main process, its workers and their forks together."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.command = command
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        _running.append(self)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; log tail:\n{tail}")

    def wait_healthz(self, port: int, timeout: float = 60) -> None:
        """Tickwork groups serve /healthz on METRICS_PORT once their processes are up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no /healthz on port {port} after {timeout} s")

    def stop(self, timeout: float = 30) -> None:
        if self in _running:
            _running.remove(self)
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # A worker may outlive its main process (a killed parent leaves orphans). While one lives, the
        # session id cannot be reused by an unrelated process, so signalling it is safe.
        if _session_members(self.process.pid):
            _signal_group(self.process.pid, signal.SIGKILL)
        self._log.close()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _session_members(session: int) -> list[int]:
    return [int(entry.name) for entry, fields, _name in _proc_stats() if int(fields[3]) == session]


def _proc_stats() -> Iterator[tuple[Path, list[str], str]]:
    """(/proc/<pid>, the fields after the command name, the command name) of every live process.
    fields[0] is field 3 of proc(5)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        yield entry, stat[stat.rindex(")") + 2 :].split(), stat[stat.index("(") + 1 : stat.rindex(")")]


def cpu_seconds(*, session: int | None = None, command: str | None = None) -> float:
    """User + system CPU of the live processes of a session (a worker group) or with a command name."""
    total = 0
    for _entry, fields, name in _proc_stats():
        # Session is field 6 of proc(5), utime and stime fields 14 and 15.
        if (session is not None and int(fields[3]) == session) or (command is not None and name == command):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def stop_all() -> None:
    """Stop every group still running (called from the runner's `finally`)."""
    for group in list(_running):
        try:
            group.stop()
        except Exception as error:  # keep stopping the others
            print(f"bench: could not stop {group.name}: {error!r}", file=sys.stderr)
