"""The worker groups the main job starts, as docker-compose runs them (one container each there).

Orders get workers of their own so that they never wait behind slow refresh or maintenance work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerGroup:
    """One `dramatiq actors` invocation."""

    name: str
    queues: tuple[str, ...]
    processes: int
    threads: int

    def command(self, dramatiq: str = "dramatiq") -> list[str]:
        return [dramatiq, "actors", "-Q", *self.queues, "-p", str(self.processes), "-t", str(self.threads)]


WORKER_GROUPS = (
    WorkerGroup("orders", ("orders",), processes=1, threads=4),
    WorkerGroup("general", ("refresh", "bots", "notifications"), processes=2, threads=8),
    WorkerGroup("maintenance", ("maintenance",), processes=1, threads=2),
)
