"""Keeps the main job's children running: a child that exits is started again after a backoff, and
only a crash loop stops everything.

Dramatiq's main process exits when one of its worker processes dies (by design: a supervisor
restarts it); `tickwork run` is that supervisor. A child that exits is restarted after
`backoff_s(n)` (1 s, 2 s, 4 s ... capped at BACKOFF_CAP_S) where n counts its exits within
CRASH_WINDOW_S; when a child exits CRASH_LOOP_EXITS times within CRASH_WINDOW_S, the supervisor
stops every child and exits non-zero. Each exit is said in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# A crash loop: this many exits of one child within this many seconds.
CRASH_LOOP_EXITS = 5
CRASH_WINDOW_S = 120.0
BACKOFF_CAP_S = 30.0
# How long children get to stop after SIGTERM before they are killed.
STOP_TIMEOUT_S = 60.0


def backoff_s(recent_exits: int, *, first_s: float = 1.0, cap_s: float = BACKOFF_CAP_S) -> float:
    """The wait before restarting a child that exited `recent_exits` times within the window."""
    return min(cap_s, first_s * 2 ** max(0, recent_exits - 1))


@dataclass
class CrashLoop:
    """Counts one child's exits within a sliding window."""

    max_exits: int = CRASH_LOOP_EXITS
    window_s: float = CRASH_WINDOW_S
    _exits: deque[float] = field(default_factory=deque)

    def exited(self, now: float) -> int:
        """Record an exit; returns the exits within the window, this one included."""
        self._exits.append(now)
        while self._exits and now - self._exits[0] > self.window_s:
            self._exits.popleft()
        return len(self._exits)

    def looping(self, recent_exits: int) -> bool:
        return recent_exits >= self.max_exits


@dataclass
class ChildSpec:
    """One child of the main job: how it is named in its lines, and how it is started."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] | None = None


class _Child:
    def __init__(self, spec: ChildSpec, loop: CrashLoop) -> None:
        self.spec = spec
        self.loop = loop
        self.process: subprocess.Popen[bytes] | None = None
        self.restart_at = 0.0

    def start(self) -> None:
        # Own session: Ctrl-C reaches only the supervisor, which stops each child once, gracefully.
        self.process = subprocess.Popen(list(self.spec.command), env=self.spec.env, start_new_session=True)


class Supervisor:
    """Starts children, restarts those that exit, gives up on a crash loop. `run()` blocks."""

    def __init__(
        self,
        *,
        say: Callable[[str], None],
        max_exits: int = CRASH_LOOP_EXITS,
        window_s: float = CRASH_WINDOW_S,
        first_backoff_s: float = 1.0,
        poll_s: float = 0.5,
    ) -> None:
        self._say = say
        self._max_exits, self._window_s = max_exits, window_s
        self._first_backoff_s = first_backoff_s
        self._poll_s = poll_s
        self._children: list[_Child] = []
        self._stopping = False

    def start(self, spec: ChildSpec) -> subprocess.Popen[bytes]:
        child = _Child(spec, CrashLoop(self._max_exits, self._window_s))
        child.start()
        self._children.append(child)
        assert child.process is not None
        return child.process

    def stop(self) -> None:
        """Ask `run()` to stop every child and return (safe in a signal handler)."""
        self._stopping = True

    def run(self) -> int:
        """Supervise until `stop()` (0) or a crash loop (the looping child's status, at least 1)."""
        status = 0
        while not self._stopping:
            now = time.monotonic()
            for child in self._children:
                if child.process is None:
                    if now >= child.restart_at:
                        child.start()
                    continue
                code = child.process.poll()
                if code is None:
                    continue
                child.process = None
                recent = child.loop.exited(now)
                if child.loop.looping(recent):
                    self._say(
                        f"{child.spec.name} exited with status {code}, {recent} times within "
                        f"{self._window_s:g} s: a crash loop; stopping everything"
                    )
                    status = code if code > 0 else 1
                    self._stopping = True
                    break
                delay = backoff_s(recent, first_s=self._first_backoff_s)
                self._say(
                    f"{child.spec.name} exited with status {code}; restarting it in {delay:g} s "
                    f"(exit {recent} of {self._max_exits} within {self._window_s:g} s before giving up)"
                )
                child.restart_at = now + delay
            if not self._stopping:
                time.sleep(self._poll_s)
        self._stop_all()
        return status

    def _stop_all(self) -> None:
        running = [c.process for c in self._children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the group's processes too
                process.wait()
