"""A half-open broker connection under load: the worker reaches RabbitMQ through a proxy of the
test's own (tests/support/blackhole_proxy.py), which starts dropping every byte of the open
connections, both ways, with their sockets kept open: no FIN, no reset, as when a firewall loses the
flow. The AMQP heartbeat (2 s here, the `heartbeat` parameter of RABBITMQ_URL) notices; the worker
reconnects on a fresh connection, and every message id still ends `completed` exactly once.

pika checks for missed heartbeats every heartbeat + 5 s and closes a connection that received nothing
over a whole check: it notices within 2 x (heartbeat + 5) s of the last byte.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from actors.rabbitmq import PREFETCH_CEILING
from services.engine.client import Send
from tests.faults.accounting import account, queue_depths, reruns_started_after, starts_by_message
from tests.faults.results import write_result
from tests.support.blackhole_proxy import BlackholeProxy
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

HEARTBEAT_S = 2
NOTICE_WITHIN_S = 2 * (HEARTBEAT_S + 5)
MESSAGES, THREADS, SLEEP_MS = 2000, 8, 40


def through(proxy: BlackholeProxy, url: str, *, heartbeat_s: int) -> str:
    """`url` with its host and port replaced by the proxy's, and a heartbeat."""
    parts = urlsplit(url)
    netloc = f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, f"heartbeat={heartbeat_s}", ""))


def test_a_half_open_broker_connection_is_noticed_by_heartbeat_and_the_worker_reconnects(
    worker_env, start_workers, client, rabbit, rabbit_url, database_url, probe_log, tmp_path
):
    # Given a worker whose broker connections go through a proxy, with a 2 s heartbeat, working a backlog
    upstream = urlsplit(rabbit_url)
    proxy = BlackholeProxy((upstream.hostname or "127.0.0.1", upstream.port or 5672))
    effects = tmp_path / "effects"
    effects.mkdir()
    try:
        group = start_workers(
            queues=["refresh"],
            processes=1,
            threads=THREADS,
            RABBITMQ_URL=through(proxy, rabbit_url, heartbeat_s=HEARTBEAT_S),
            PROBE_EFFECTS=str(effects),
        )
        sent = [
            m.message_id
            for m in client.send_many(
                [Send("probe_effect", {"tag": f"h{i}", "sleep_ms": SLEEP_MS}) for i in range(MESSAGES)]
            )
        ]
        wait_for(lambda: len(read_probe_log(probe_log)) > MESSAGES // 5, 120, "a fifth of the work to start")

        # When every open connection through the proxy goes silent, both ways, its sockets left open
        cut_wall = time.time()
        cut_at = proxy.blackhole()
        cut = proxy.blackholed()

        # Then the worker closes its silent consumer connection and opens a fresh one within the bound
        wait_for(lambda: proxy.opened_since(cut_at), NOTICE_WITHIN_S + 10, "the worker to reconnect", interval=0.1)
        reconnect_s = proxy.opened_since(cut_at)[0].opened_at - cut_at
        closed = [c.client_closed_at - cut_at for c in cut if c.client_closed_at is not None]

        # ... and every message completes
        def all_final() -> bool:
            figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
            return figures["completed"] == MESSAGES and figures["stuck"] == 0

        wait_for(all_final, 300, "every message to complete after the reconnect", interval=0.5)
        recovered_s = time.monotonic() - cut_at
        rode_out = group.process.poll() is None
        group.stop()  # before the proxy goes: it would cut the worker again
    finally:
        proxy.close()
    figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
    runs = starts_by_message(probe_log)
    noticed_s = min(closed) if closed else None
    # The first task run on a fresh connection (before the notice, the old one's prefetch was still worked)
    resumed = [r["t"] for rs in runs.values() for r in rs if noticed_s is not None and r["t"] > cut_wall + noticed_s]
    figures.update(
        threads=THREADS,
        heartbeat_s=HEARTBEAT_S,
        connections_cut=len(cut),
        started_before_cut=sum(1 for rs in runs.values() if rs[0]["t"] < cut_wall),
        closed_by_worker=len(closed),
        noticed_s=round(noticed_s, 1) if noticed_s is not None else None,
        reconnect_s=round(reconnect_s, 1),
        resumed_s=round(min(resumed) - cut_wall, 1) if resumed else None,
        recovery_s=round(recovered_s, 1),
        reruns_of_later_work=len(reruns_started_after(probe_log, cut_wall + reconnect_s)),
        **queue_depths(rabbit_url),
    )
    write_result("half_open_connection", figures)
    assert rode_out, "the worker rides the cut out"
    assert noticed_s is not None and noticed_s <= NOTICE_WITHIN_S, "a heartbeat must notice the silent connection"
    assert reconnect_s <= NOTICE_WITHIN_S + 5  # noticed, then Dramatiq restarts its consumer after 3 s
    assert figures["distinct_ids"] == figures["completed"] == MESSAGES
    assert figures["rows_missing"] == figures["lost"] == figures["stuck"] == figures["never_ran"] == 0
    assert figures["queue_left"] == figures["dead_letters"] == 0
    assert figures["effects_applied"] == MESSAGES and figures["effects_unexpected"] == 0
    # Only deliveries held unacknowledged (or acked into the void) on the cut connection run again
    assert figures["reruns_of_later_work"] == 0
    assert figures["ran_twice_or_more"] <= THREADS * PREFETCH_CEILING
