"""`tickwork run`'s supervisor with real child processes: a child that exits is restarted, a crash
loop stops everything with a non-zero status (services/cli/child_processes.py)."""

from __future__ import annotations

import sys
import threading
import time

from services.cli.child_processes import ChildSpec, Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_exits_is_restarted_with_one_line(tmp_path):
    # Given a child that exits at its first start and runs at its second, and one that just runs
    marker = tmp_path / "started"
    flaky = (
        f"import pathlib, sys, time; p = pathlib.Path({str(marker)!r}); first = not p.exists(); "
        "p.open('a').write('started\\n'); sys.exit(3) if first else time.sleep(60)"
    )
    lines: list[str] = []
    supervisor = Supervisor(say=lines.append, max_exits=3, window_s=30, first_backoff_s=0.1, poll_s=0.05)
    flaky_process = supervisor.start(ChildSpec("worker group general", python(flaky)))
    steady = supervisor.start(ChildSpec("scheduler", python("import time; time.sleep(60)")))
    runner = threading.Thread(target=lambda: lines.append(f"status {supervisor.run()}"))
    runner.start()
    # When it has exited once
    deadline = time.monotonic() + 20
    while not (flaky_process.poll() is not None and len(lines) >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # its backoff, then its second start
    # Then one line says so, and the others were left running
    assert lines == [
        "worker group general exited with status 3; restarting it in 0.1 s (exit 1 of 3 within 30 s before giving up)"
    ]
    assert steady.poll() is None
    supervisor.stop()
    runner.join(30)
    assert lines[-1] == "status 0"
    assert steady.poll() is not None


def test_a_crash_loop_stops_everything_with_the_childs_status():
    # Given a child that always exits, and one that runs
    lines: list[str] = []
    supervisor = Supervisor(say=lines.append, max_exits=3, window_s=30, first_backoff_s=0.05, poll_s=0.05)
    supervisor.start(ChildSpec("API", python("import sys; sys.exit(4)")))
    steady = supervisor.start(ChildSpec("scheduler", python("import time; time.sleep(60)")))
    # When the supervisor runs
    began = time.monotonic()
    status = supervisor.run()
    # Then it gives up on the third exit, stops the others, and says why
    assert status == 4 and time.monotonic() - began < 20
    assert steady.poll() is not None
    assert (
        len(lines) == 3
        and lines[-1] == "API exited with status 4, 3 times within 30 s: a crash loop; stopping everything"
    )
