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


def metrics_ports(first_port: int, scheduler_port: int) -> dict[str, int]:
    """The metrics port of each worker group and of the scheduler when the main job runs them all on
    one host: the groups take `first_port` and the ports after it, in WORKER_GROUPS order; the
    scheduler keeps `scheduler_port` unless a group has it, and then takes the first port after the
    groups' (so METRICS_PORT=9191 gives 9191-9193 to the groups and 9194 to the scheduler instead of
    its 9192). Port 0 (no metrics server) is left as it is."""
    ports = {group.name: first_port + offset for offset, group in enumerate(WORKER_GROUPS)}
    taken = set(ports.values())
    if scheduler_port in taken:
        scheduler_port = first_port + len(WORKER_GROUPS)
        while scheduler_port in taken:
            scheduler_port += 1
    ports["scheduler"] = scheduler_port
    return ports
