"""Where the processes of one worker group share their Prometheus samples.

prometheus_client's multiprocess mode keeps one file per process in a folder. A folder that outlives
its worker group would serve the dead processes' series after a restart, so each run of `dramatiq`
gets a folder named after its main process, and folders of main processes that are gone are removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def run_dir(base: str) -> Path:
    """The folder of the current worker group (its `dramatiq` main process is our parent)."""
    return Path(base) / str(os.getppid())


def prepare_run_dir(base: str) -> Path:
    """Create this group's folder and remove those of groups that no longer run."""
    root = Path(base)
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    current = run_dir(base)
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
