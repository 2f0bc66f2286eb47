"""The process tree under a pid, read from /proc (no psutil here), for the tests that run the main job."""

from __future__ import annotations

import re
from pathlib import Path


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
