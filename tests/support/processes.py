"""Ports and processes for the tests that run the main job: a run of free ports, and the process
tree under a pid, read from /proc (no psutil here)."""

from __future__ import annotations

import random
import re
import socket
from pathlib import Path

from tests.support.workers import free_port


def free_port_run(count: int, *, below_ephemeral: bool = False) -> int:
    """p with p..p+count-1 free now. `below_ephemeral`: below the kernel's ephemeral range, for a test
    whose many connections (scrapes, webhooks, AMQP) take ephemeral ports, one of which could take a
    port of the run between its pick and its bind."""
    low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(200):
        first = random.randrange(20000, low - count) if below_ephemeral else free_port()
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("0.0.0.0", port))
            return first
        except OSError:
            continue
    raise AssertionError("no run of free ports")


def parents() -> dict[int, int]:
    """Every process's parent."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        found[int(stat.parent.name)] = int(fields[1])
    return found


def descendants(pid: int, tree: dict[int, int] | None = None) -> list[int]:
    """`pid` and every process below it, each after its parent."""
    children: dict[int, list[int]] = {}
    for child, parent in (tree or parents()).items():
        children.setdefault(parent, []).append(child)
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child_matching(main: int, pattern: str) -> int:
    """The first process under `main` whose command line matches `pattern`, and its parent's does not."""
    tree = parents()
    for pid in descendants(main, tree)[1:]:
        if re.search(pattern, cmdline(pid)) and not re.search(pattern, cmdline(tree.get(pid, 0))):
            return pid
    raise AssertionError(f"no process under {main} runs {pattern!r}")
