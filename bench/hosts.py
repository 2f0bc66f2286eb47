"""Two worker groups as two "hosts" on one broker, against one group of the same size (docs/scaling.md).

    python -m bench.hosts [--messages 20000] [--rounds 3]

Both drain the same pre-loaded no-op backlog on `refresh` with 16 slots in all: one `dramatiq -p 2 -t 8`,
or two `dramatiq -p 1 -t 8` started apart, each with its own metrics port, as two hosts would run them.
On one machine both share the same cores, so the difference is what coordinating through RabbitMQ
and the ledger costs, not what a second host gains.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import rabbit, throughput
from bench.context import Context
from bench.database import throwaway_database
from bench.procs import DRAMATIQ, stop_all
from bench.run import say

ONE_GROUP = throughput.Setup("tickwork-one-host", "one group, -p 2 -t 8", "refresh", [throughput.TICKWORK])
TWO_GROUPS = throughput.Setup(
    "tickwork-two-hosts",
    "two groups, -p 1 -t 8 each",
    "refresh",
    [[DRAMATIQ, "bench.tickwork_noop", "-p", "1", "-t", "8"]] * 2,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hosts", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-bench-hosts-"))
    vhost, url = rabbit.create_vhost()
    os.environ["RABBITMQ_URL"] = url  # read at import by bench.celery_app, which declare() imports
    rates: dict[str, list[float]] = {ONE_GROUP.label: [], TWO_GROUPS.label: []}
    try:
        with throwaway_database("postgresql", scratch) as database_url:
            connection = rabbit.Rabbit(url)
            ctx = Context(url, database_url, scratch, connection)
            throughput.declare(ctx)
            for round_ in range(1, args.rounds + 1):
                for setup in (ONE_GROUP, TWO_GROUPS):
                    result = throughput.run(ctx, setup, args.messages)
                    rates[setup.label].append(result["rate"])
                    say(f"[round {round_}] {setup.label:<28} {result['rate']:>8,.0f} msg/s")
            connection.close()
    finally:
        stop_all()
        rabbit.delete_vhost(vhost)
        shutil.rmtree(scratch, ignore_errors=True)
    one = statistics.median(rates[ONE_GROUP.label])
    for label, runs in rates.items():
        median, each = statistics.median(runs), ", ".join(f"{r:,.0f}" for r in runs)
        say(f"{label:<28} median {median:>8,.0f} msg/s ({median / one:.2f}x), runs {each}")


if __name__ == "__main__":
    main()
