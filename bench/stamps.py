"""How workers tell the runner what they did, cheaply enough not to be what is measured.

Throughput: every no-op run appends one fixed-width line, its completion time, to the file named by
BENCH_STAMPS. One `write(2)` of 18 bytes on a descriptor opened once per process costs a few
microseconds (a no-op message costs hundreds in any of the frameworks), O_APPEND makes concurrent
writes from every thread and process land whole, and the runner counts completions from the file
size alone, without reading it, until the last one is in.

Latency: the probe actors append one JSON line per start to BENCH_MARKS, with their tag and time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

STAMP_BYTES = 18  # "%17.6f\n": seconds since the epoch with microseconds
_lock = threading.Lock()
_fds: dict[tuple[int, str], int] = {}


def _fd(variable: str) -> int:
    # Keyed by pid: a descriptor must not be shared across fork (prefork pools fork after import).
    key = (os.getpid(), variable)
    fd = _fds.get(key)
    if fd is None:
        with _lock:
            fd = _fds.get(key)
            if fd is None:
                fd = _fds[key] = os.open(os.environ[variable], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return fd


def stamp() -> None:
    """Record one completed no-op message."""
    os.write(_fd("BENCH_STAMPS"), b"%17.6f\n" % time.time())


def mark(tag: str, event: str = "start") -> None:
    """Record that a probe message started (or ended)."""
    line = json.dumps({"tag": tag, "event": event, "t": time.time(), "pid": os.getpid()})
    os.write(_fd("BENCH_MARKS"), (line + "\n").encode())


def count_stamps(path: Path) -> int:
    try:
        return path.stat().st_size // STAMP_BYTES
    except FileNotFoundError:
        return 0


def read_stamps(path: Path) -> list[float]:
    return sorted(float(line) for line in path.read_bytes().split(b"\n") if line)


class MarkReader:
    """Reads BENCH_MARKS incrementally (the latency runs poll it after every probe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.rows: list[dict] = []
        self._partial = b""

    def poll(self) -> list[dict]:
        """The rows appended since the last call."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = self._partial + handle.read()
        self.offset += len(data) - len(self._partial)
        *lines, self._partial = data.split(b"\n")
        new = [json.loads(line) for line in lines if line]
        self.rows.extend(new)
        return new
