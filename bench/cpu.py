"""Worker CPU per no-op message, quickly: `python -m bench.cpu [--setups tickwork,dramatiq] [--rounds 3]`.

The full benchmark (`bench.run`) compares throughput; on a shared two-core machine its msg/s move
with other people's load, while the CPU a worker group spends per message hardly does. This runs
only the throughput drains of the chosen setups, alternating them round by round, and prints the
worker CPU per message of each (median over rounds) and its ratio to bare Dramatiq's; `--env
KEY=VALUE` tries a setting on the Tickwork setups (e.g. TICKWORK_PREFETCH_PER_THREAD=2).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import procs, rabbit, throughput
from bench.context import Context
from bench.database import throwaway_database


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default="dramatiq,tickwork,tickwork-noledger", help="keys from bench.throughput")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the Tickwork setups (repeatable)")
    return parser.parse_args(argv)


def _declare(ctx: Context) -> None:
    """Tickwork's topology and bare Dramatiq's queue (Celery's only if it is installed)."""
    try:
        throughput.declare(ctx)
    except ImportError:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        from services.engine.client import declare_topology

        declare_topology(ctx.rabbit.channel)
        stock = RabbitmqBroker(url=ctx.url)
        stock.declare_queue("bench_bare", ensure=True)
        stock.close()


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    setups = [s for key in args.setups.split(",") for s in throughput.SETUPS if s.key == key]
    extra = dict(item.split("=", 1) for item in args.env)
    setups = [
        dataclasses.replace(s, env={**s.env, **extra}) if s.key.startswith("tickwork") and extra else s for s in setups
    ]
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-cpu-"))
    vhost, url = rabbit.create_vhost()
    os.environ["RABBITMQ_URL"] = url
    cpu: dict[str, list[float]] = {s.key: [] for s in setups}
    rate: dict[str, list[float]] = {s.key: [] for s in setups}
    try:
        with throwaway_database(args.database, scratch) as database_url:
            ctx = Context(url, database_url, scratch, rabbit.Rabbit(url))
            _declare(ctx)
            for round_ in range(1, args.rounds + 1):
                for setup in setups:
                    result = throughput.run(ctx, setup, args.messages)
                    cpu[setup.key].append(result["worker_cpu_us"])
                    rate[setup.key].append(result["rate"])
                    print(
                        f"[round {round_}] {setup.label:<22} {result['worker_cpu_us']:6.0f} µs/msg worker CPU, "
                        f"{result['rate']:7,.0f} msg/s, other load {result['other_cores']:.2f} cores",
                        flush=True,
                    )
            ctx.rabbit.close()
    finally:
        procs.stop_all()
        rabbit.delete_vhost(vhost)
        shutil.rmtree(scratch, ignore_errors=True)
    base_cpu = statistics.median(cpu["dramatiq"]) if cpu.get("dramatiq") else None
    base_rate = statistics.median(rate["dramatiq"]) if rate.get("dramatiq") else None
    for setup in setups:
        c, r = statistics.median(cpu[setup.key]), statistics.median(rate[setup.key])
        versus = f", CPU {c / base_cpu:.2f}x, rate {r / base_rate:.2f}x bare Dramatiq" if base_cpu and base_rate else ""
        print(f"{setup.label:<22} median {c:6.0f} µs/msg, {r:7,.0f} msg/s{versus}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
