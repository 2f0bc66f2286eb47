"""Where the processes of one worker group, or of one `tickwork api`, share their Prometheus samples.

prometheus_client's multiprocess mode keeps one file per process in a folder. A folder that outlives
its processes would serve the dead ones' series after a restart, so each run of `dramatiq` (or of the
API's server) gets a folder named after its main process (pid and start time: in a container the main
process is pid 1 on every restart), and folders of main processes that are gone are removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def run_dir(base: str, main: int | None = None) -> Path:
    """The folder of the processes under `main`, by default our parent (a worker group's `dramatiq`)."""
    main = os.getppid() if main is None else main
    return Path(base) / f"{main}-{_start_time(main)}"


def _start_time(pid: int) -> str:
    """When `pid` started, in clock ticks since boot ("0" where /proc is not available)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "0"
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
    return stat.rsplit(")", 1)[1].split()[19]


def prepare_run_dir(base: str, main: int | None = None) -> Path:
    """Create the folder of `main`'s processes (run_dir) and remove those of mains that no longer run."""
    root = Path(base)
    root.mkdir(parents=True, exist_ok=True)
    current = run_dir(base, main)
    for folder in root.iterdir():
        pid, _, started = folder.name.partition("-")
        if folder != current and pid.isdigit() and (not _alive(int(pid)) or started != _start_time(int(pid))):
            shutil.rmtree(folder, ignore_errors=True)
    current.mkdir(exist_ok=True)
    return current


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
