"""The main job's restart policy and metrics ports (services/cli/child_processes.py, worker_groups.py)."""

from __future__ import annotations

from services.cli.child_processes import BACKOFF_CAP_S, CrashLoop, backoff_s
from services.cli.worker_groups import WORKER_GROUPS, metrics_ports


def test_backoff_doubles_from_one_second_up_to_its_cap():
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff_s(50) == BACKOFF_CAP_S


def test_a_crash_loop_is_so_many_exits_within_the_window_only():
    loop = CrashLoop(max_exits=3, window_s=10)
    # Exits spread wider than the window never add up to a loop
    assert [loop.looping(loop.exited(t)) for t in (0, 11, 22, 33)] == [False] * 4
    # Three within ten seconds do
    assert [loop.looping(loop.exited(t)) for t in (40, 41)] == [False, True]


def test_default_metrics_ports_do_not_collide():
    # METRICS_PORT 9191 and TICKWORK_SCHEDULER_METRICS_PORT 9192, the defaults
    ports = metrics_ports(9191, 9192)
    assert len(set(ports.values())) == len(ports) == len(WORKER_GROUPS) + 1
    assert [ports[g.name] for g in WORKER_GROUPS] == [9191, 9192, 9193]
    assert ports["scheduler"] == 9194


def test_a_scheduler_port_apart_from_the_groups_is_kept():
    assert metrics_ports(9191, 9300)["scheduler"] == 9300
