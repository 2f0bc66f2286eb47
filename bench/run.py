"""The benchmark, every scenario in one run on one RabbitMQ: `python -m bench.run [--quick]`.

It works in a throw-away RabbitMQ virtual host and a throw-away ledger database, runs the
scenarios one after the other (never two at once: they would share the 2 cores), prints the
tables and rewrites the results block of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api_submit, enqueue, latency, procs, rabbit, report, throughput
from bench.context import Context
from bench.database import server_version, throwaway_database


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages per throughput and enqueue run")
    parser.add_argument("--tries", type=int, default=50, help="probes per latency scenario")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds; setups alternate within a round")
    parser.add_argument(
        "--database",
        choices=["postgresql", "sqlite"],
        default="postgresql",
        help="the ledger's database (PostgreSQL as in docker-compose.yml)",
    )
    parser.add_argument("--out", type=Path, default=procs.ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 messages, 10 tries, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.tries, args.rounds = 2_000, 10, 1
    if args.messages < 100 or args.tries < 2 or args.rounds < 1:
        parser.error("need --messages >= 100, --tries >= 2, --rounds >= 1")
    return args


def say(text: str) -> None:
    print(text, flush=True)


def run_all(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    n = args.messages
    results: dict[str, list[dict[str, float]]] = {s.key: [] for s in throughput.SETUPS}
    throughput.declare(ctx)
    for round_ in range(1, args.rounds + 1):
        for setup in throughput.SETUPS:
            try:
                result = throughput.run(ctx, setup, n)
            except Exception as error:
                # Once, e.g. for a broker restarted by someone else mid-run; twice means it is broken.
                say(f"[round {round_}] {setup.label}: {type(error).__name__}: {error}; running it again")
                result = throughput.run(ctx, setup, n)
            results[setup.key].append(result)
            say(
                f"[round {round_}] {setup.label:<22} {result['rate']:>8,.0f} msg/s first→last "
                f"({result['first_to_last_s']:.2f} s), steady {result['steady_rate']:,.0f} msg/s, "
                f"worker CPU {result['worker_cpu_us']:,.0f} µs/msg, other load {result['other_cores']:.2f} cores"
            )

    # From here on a failing scenario is reported, not fatal: the throughput figures are already in.
    enq = {
        "send_many": attempt("enqueue send_many", lambda: enqueue.client_send_many(ctx, n)),
        "send": attempt("enqueue send", lambda: enqueue.client_one_thread(ctx, n)),
        "send_threads": attempt("enqueue send, threads", lambda: enqueue.client_threads(ctx, n)),
        "send_shared": attempt("enqueue send, shared", lambda: enqueue.client_threads(ctx, n, shared=True)),
        "pipelined": attempt("enqueue raw pika", lambda: enqueue.pipelined_ceiling(ctx, n)),
    }
    api = {
        "batch": attempt("API batch", lambda: api_submit.batches(ctx, n)),
        "single": attempt("API single", lambda: api_submit.singles(ctx, n)),
        "concurrent": attempt("API concurrent", lambda: api_submit.concurrent(ctx, n)),
    }
    crit = attempt("critical latency", lambda: latency.critical_behind_backlog(ctx, backlog=n, tries=args.tries))
    orders = attempt("orders latency", lambda: latency.orders_while_refresh_saturated(ctx, tries=args.tries))

    medians = {key: statistics.median(r["rate"] for r in runs) for key, runs in results.items()}
    ratios: dict[str, Any] = {key: rate / medians["dramatiq"] for key, rate in medians.items()}
    ratios["celery"] = {s.label: ratios[s.key] for s in throughput.SETUPS if s.key.startswith("celery")}
    return {"results": results, "ratios": ratios, "enqueue": enq, "api": api, "critical": crit, "orders": orders}


def attempt(name: str, scenario: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one scenario and print its figures; a failure becomes an `error` entry in the results."""
    try:
        result = scenario()
    except Exception as error:
        say(f"{name}: FAILED {type(error).__name__}: {error}")
        return {"error": f"{type(error).__name__}: {error}"}
    say(f"{name}: " + ", ".join(f"{key} {value:,.4g}" for key, value in result.items()))
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    # SIGTERM (e.g. from make or CI) must still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began, load_before, code = time.monotonic(), report.load(), report.code_state()
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-bench-"))
    vhost, url = rabbit.create_vhost()
    # Read at import by bench.celery_app, which the runner imports to pre-load Celery's queue.
    os.environ["RABBITMQ_URL"] = url
    say(f"bench: vhost {vhost}, scratch {scratch}, load {load_before}")
    ok = False
    try:
        with throwaway_database(args.database, scratch) as database_url:
            connection = rabbit.Rabbit(url)
            try:
                run = run_all(args, Context(url, database_url, scratch, connection))
                run["machine"] = report.machine(rabbit.server_version(), server_version(database_url), code)
            finally:
                connection.close()
        ok = True
    finally:
        procs.stop_all()
        rabbit.delete_vhost(vhost)
        if ok:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"bench: failed; worker logs kept in {scratch}", file=sys.stderr)

    run.update(
        messages=args.messages,
        tries=args.tries,
        rounds=args.rounds,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=" ".join(["python -m bench.run", *argv]),
        load_before=load_before,
        load_after=report.load(),
        elapsed_s=time.monotonic() - began,
        labels={s.key: s.label for s in throughput.SETUPS},
        commands={s.label: s.shell for s in throughput.SETUPS},
        latency_commands=(latency.shell(latency.REFRESH_GROUP), latency.shell(latency.ORDERS_GROUP)),
        enqueue_batch=enqueue.BATCH,
        enqueue_threads=enqueue.THREADS,
        enqueue_window=enqueue.WINDOW,
        api_batch=api_submit.BATCH,
        api_singles=min(args.messages, api_submit.SINGLES),
        api_clients=api_submit.CLIENTS,
    )
    block = report.results_block(run)
    print("\n" + block.split("\n", 1)[1].rsplit("\n", 1)[0])
    report.write(args.out, block)
    say(f"\nbench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
