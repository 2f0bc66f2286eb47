"""Ports for the servers the tests start.

Picked below the kernel's ephemeral range: the suite opens thousands of outgoing connections (AMQP,
scrapes, webhooks, SQL), and the kernel gives each one a port from that range, so a port picked there
by binding port 0 could be taken by a connection between its pick and the server's bind (CI saw a
worker group's metrics port go that way). Each xdist process picks from its own share of the range,
so two processes never pick the same port, and a process never hands out a port twice, so a port
picked but not yet bound is not given to a second server."""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

_LOWEST = 20000  # above every well-known service this machine runs (PostgreSQL, RabbitMQ, Redis)
_given: set[int] = set()
_lock = threading.Lock()
_random = random.Random()  # its own, so that no test's seeding makes two picks repeat


def _share() -> range:
    """This process's share of the ports between _LOWEST and the ephemeral range."""
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    size = (ephemeral - _LOWEST) // processes
    if size < 1000:
        raise AssertionError(f"the ephemeral range starts at {ephemeral}: too few ports below it for the tests")
    return range(_LOWEST + index * size, _LOWEST + (index + 1) * size)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port_run(count: int) -> int:
    """p with p..p+count-1 free now and not handed out before (the main job takes consecutive ports)."""
    share = _share()
    with _lock:
        for _ in range(500):
            first = _random.randrange(share.start, share.stop - count)
            run = range(first, first + count)
            if _given.isdisjoint(run) and all(_bindable(port) for port in run):
                _given.update(run)
                return first
    raise AssertionError(f"no run of {count} free ports in {share.start}..{share.stop - 1}")


def free_port() -> int:
    return free_port_run(1)
