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


def _sigkill(r: dict[str, Any]) -> list[str]:
    return [
        f"**Repeated SIGKILL under load** ({r['date']}): {r['sent']:,} messages sent to one worker group of "
        f"{r['processes']} processes x {r['threads']} threads under the main job's supervisor; "
        f"{r['kills']} worker processes SIGKILLed, the group restarted {r['restarts_said']} times.",
        "",
        "| sent | completed | run twice | lost | stuck | rows missing | effects applied | queue left | "
        "dead letters | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {r['sent']:,} | {r['completed']:,} | {r['ran_twice_or_more']} | {r['lost']} | {r['stuck']} | "
        f"{r['rows_missing']} | {r['effects_applied']:,} | {r['queue_left']} | {r['dead_letters']} | "
        f"{r['seconds_to_complete']} |",
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


RENDERERS = {"sigkill_under_load": _sigkill, "database_outage": _outage}


def block(results: list[dict[str, Any]]) -> str:
    lines = [BEGIN, ""]
    for result in results:
        render = RENDERERS.get(result["test"])
        if render:
            lines += [*render(result), ""]
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
