"""Renders the fault tests' figures into docs/reliability.md: `python -m tests.faults.render`.

The tests write their figures (tests/faults/results.py) each time they run; this rewrites the block
between the markers in docs/reliability.md, leaving the prose around it alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.faults.results import RESULTS_DIR, read_results

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
BEGIN, END = "<!-- fault-results:begin -->", "<!-- fault-results:end -->"


def _accounting(r: dict[str, Any], last: list[tuple[str, str]]) -> list[str]:
    """The table every message-accounting test shows: its counts, then `last` (heading, key) columns."""
    heads = ["sent", "completed", "run twice", "lost", "stuck", "rows missing", "effects applied", "queue left"]
    values = [f"{r['sent']:,}", f"{r['completed']:,}", r["ran_twice_or_more"], r["lost"], r["stuck"]]
    values += [r["rows_missing"], f"{r['effects_applied']:,}", r["queue_left"], r["dead_letters"]]
    heads += ["dead letters", *(head for head, _ in last)]
    values += [r[key] for _, key in last]
    return [
        "| " + " | ".join(heads) + " |",
        "|" + "---|" * len(heads),
        "| " + " | ".join(str(value) for value in values) + " |",
    ]


def _sigkill(r: dict[str, Any]) -> list[str]:
    return [
        f"**Repeated SIGKILL under load** ({r['date']}): {r['sent']:,} messages sent to one worker group of "
        f"{r['processes']} processes x {r['threads']} threads under the main job's supervisor; "
        f"{r['kills']} worker processes SIGKILLed, the group restarted {r['restarts_said']} times.",
        "",
        *_accounting(r, [("seconds", "seconds_to_complete")]),
    ]


def _outage(r: dict[str, Any]) -> list[str]:
    shown = ", ".join(sorted(r["workers_shown"].values()))
    return [
        f"**PostgreSQL stopped under load** ({r['date']}): {r['sent']:,} messages (half of them read the "
        f"database), two worker groups of 1 process x 8 threads, the test's own PostgreSQL cluster stopped for "
        f"{r['outage_s']} s with {r.get('backlog_at_stop', '?')} messages still queued; "
        f"{r['runs_during_outage']} task runs started during the outage; every task was "
        f"final {r['recovery_s']} s after the database came back. `tickwork workers` then showed: {shown}.",
        "",
        "| sent | completed | ran again (retried after failing on the outage) | lost | stuck | rows missing | "
        "effects applied | workers reconciled as dead | "
        "outage s | recovery s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {r['sent']:,} | {r['completed']:,} | {r['ran_twice_or_more']} | {r['lost']} | {r['stuck']} | "
        f"{r['rows_missing']} | {r['effects_applied']:,} | {r['reconciled_as_lost']} | {r['outage_s']} | "
        f"{r['recovery_s']} |",
    ]


def _broker_restart(r: dict[str, Any]) -> list[str]:
    return [
        f"**RabbitMQ stopped under load** ({r['date']}): {r['sent']:,} messages to one worker group of "
        f"{r['processes']} processes x {r['threads']} threads (PostgreSQL ledger); `rabbitmqctl stop_app` with "
        f"{r['started_before_stop']:,} tasks started (it took {r['stop_s']} s to close the connections), "
        f"`start_app` {r['outage_s']} s after the stop began; the same processes reconnected and ran their "
        f"first task {r['reconnect_s']} s after the broker was back, and every task was final "
        f"{r['recovery_s']} s after.",
        "",
        *_accounting(r, [("outage s", "outage_s"), ("recovery s", "recovery_s")]),
    ]


def _half_open(r: dict[str, Any]) -> list[str]:
    return [
        f"**A half-open broker connection under load** ({r['date']}): {r['sent']:,} messages to one worker "
        f"process x {r['threads']} threads whose connections pass through a proxy; with {r['started_before_cut']:,} "
        f"tasks started the proxy dropped every byte of its {r['connections_cut']} open connections, both "
        f"ways, sockets kept open. With a {r['heartbeat_s']} s heartbeat (`?heartbeat={r['heartbeat_s']}` on "
        f"RABBITMQ_URL) the worker closed the first silent connection after {r['noticed_s']} s (pika's bound: "
        f"2 x (heartbeat + 5) s), opened a fresh one after {r['reconnect_s']} s, ran tasks again after "
        f"{r['resumed_s']} s, and every task was final {r['recovery_s']} s after the cut.",
        "",
        *_accounting(r, [("noticed s", "noticed_s"), ("recovery s", "recovery_s")]),
    ]


def _client_restart(r: dict[str, Any]) -> list[str]:
    return [
        f"**The client sending through a RabbitMQ restart** ({r['date']}): one thread sending confirmed "
        f"messages one by one while RabbitMQ stopped and started ({r['outage_s']} s from stop to back up); "
        f"the slowest `send` took {r['slowest_send_s']} s (it reconnected and published again), none failed; "
        f"the queue, drained, held every confirmed id, {r['queued_twice']} of them twice"
        + (
            " (the message awaiting its confirm when RabbitMQ closed the connection: RabbitMQ had it, the "
            "confirm was lost, the client published it again with the same id, so it has one ledger row and "
            "an idempotent actor applies it once)."
            if r["queued_twice"]
            else "."
        ),
        "",
        "| confirmed | lost | queued twice | queued, not confirmed | send errors | ledger rows | outage s |",
        "|---|---|---|---|---|---|---|",
        f"| {r['sent']:,} | {r['lost']} | {r['queued_twice']} | {r['unexpected']} | {r['send_errors']} | "
        f"{r['ledger_rows']:,} | {r['outage_s']} |",
    ]


def _client_alarm(r: dict[str, Any]) -> list[str]:
    queued = sorted(r["queued"].values())
    return [
        f"**The client sending through a RabbitMQ memory alarm** ({r['date']}): publishers blocked "
        f"(`set_vm_memory_high_watermark 0.0000001`), a {r['timeout_s']:g} s publish timeout. A send held "
        f'past it failed after {r["failed_after_s"]} s with: "{r["error"]}"; a send whose alarm cleared '
        f"while it waited returned after {r['waited_then_sent_s']} s. Copies queued of each of the "
        f"{r['confirmed']} confirmed messages: {', '.join(map(str, queued))}; of the failed one: "
        f"{r['failed_send_queued']} (RabbitMQ had read it before it blocked, as the error warns).",
    ]


RENDERERS = {
    "broker_restart_under_load": _broker_restart,
    "half_open_connection": _half_open,
    "client_broker_restart": _client_restart,
    "client_memory_alarm": _client_alarm,
    "sigkill_under_load": _sigkill,
    "database_outage": _outage,
}


def block(results: list[dict[str, Any]]) -> str:
    lines = [BEGIN, ""]
    by_test = {result["test"]: result for result in results}
    for test, render in RENDERERS.items():  # in RENDERERS' order, whatever order the files come in
        if test in by_test:
            lines += [*render(by_test[test]), ""]
    return "\n".join([*lines, END])


def main() -> int:
    results = read_results()
    if not results:
        print(f"no fault results in {RESULTS_DIR}: run `.venv/bin/pytest tests/faults` first", file=sys.stderr)
        return 1
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + block(results) + tail)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
