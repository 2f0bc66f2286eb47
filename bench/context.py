"""What every scenario shares: the vhost URL, a scratch folder and the workers' environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import ROOT, Group, free_port
from bench.rabbit import Rabbit


@dataclass
class Context:
    url: str
    database_url: str
    scratch: Path
    rabbit: Rabbit
    _runs: int = field(default=0)

    def new_run(self, name: str) -> tuple[Path, Path]:
        """Fresh stamp and mark files for one scenario run."""
        self._runs += 1
        prefix = self.scratch / f"{self._runs:02d}-{name}"
        return prefix.with_suffix(".stamps"), prefix.with_suffix(".marks.jsonl")

    def env(self, stamps: Path, marks: Path, metrics_port: int, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            RABBITMQ_URL=self.url,
            METRICS_PORT=str(metrics_port),
            TICKWORK_METRICS_DIR=str(self.scratch / "metrics"),
            DATABASE_URL=self.database_url,
            BENCH_STAMPS=str(stamps),
            BENCH_MARKS=str(marks),
        )
        env.update(extra)
        return env

    def start(
        self, name: str, command: list[str], stamps: Path, marks: Path, extra: dict[str, str] | None = None
    ) -> tuple[Group, int]:
        port = free_port()
        return Group(name, command, self.env(stamps, marks, port, extra or {}), self.scratch), port
