"""Threads sharing one TickworkClient share its confirm stream: a group commit, not a round trip each."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from services.engine.client import TickworkClient
from services.engine.group_commit import GroupCommit
from services.errors import PublishFailed
from services.settings import Settings


class SlowConfirms:
    """A confirmed publisher whose confirms arrive `round_trip_s` after their publish, as RabbitMQ's do."""

    def __init__(self, round_trip_s: float, refuse: set[str] | None = None) -> None:
        self.round_trip_s = round_trip_s
        self.window = 256
        self.is_open = True
        self.published: list[str] = []
        self.rounds: list[int] = []  # how many confirms each pump delivered
        self.confirmed: set[str] = set()
        self.refused: dict[str, str] = {}
        self.blocked: str | None = None
        self._refuse = refuse or set()
        self._in_flight: list[tuple[float, str]] = []

    def publish(self, _routing_key: str, _body: bytes, properties: Any, *, timeout_s: float) -> None:
        self.published.append(properties.message_id)
        self._in_flight.append((time.monotonic() + self.round_trip_s, properties.message_id))

    def awaiting(self) -> int:
        return len(self._in_flight)

    def pump(self, *, time_limit_s: float) -> None:
        if not self._in_flight:
            return
        time.sleep(max(0.0, min(time_limit_s, self._in_flight[0][0] - time.monotonic())))
        arrived = [message_id for due, message_id in self._in_flight if due <= time.monotonic()]
        self._in_flight = self._in_flight[len(arrived) :]
        for message_id in arrived:
            if message_id in self._refuse:
                self.refused[message_id] = "unroutable: NO_ROUTE (test)"
            else:
                self.confirmed.add(message_id)
        if arrived:
            self.rounds.append(len(arrived))


def client_on(publisher: SlowConfirms) -> TickworkClient:
    client = TickworkClient(settings=Settings(rabbitmq_url="amqp://guest:guest@127.0.0.1:1/"))
    client._stream = GroupCommit(
        lambda _window: publisher, lambda: None, timeout_s=5, attempts=2, lock=threading.Lock()
    )
    return client


def send_from_threads(client: TickworkClient, threads: int, each: int) -> tuple[list[str], list[Exception]]:
    ids: list[str] = []
    errors: list[Exception] = []
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for _ in range(each):
            try:
                ids.append(client.send("monitor_jobs", {}).message_id)
            except PublishFailed as error:
                errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    return ids, errors


def test_threads_sharing_a_client_wait_for_shared_confirm_rounds():
    # Given a client whose every confirm round takes 20 ms
    publisher = SlowConfirms(round_trip_s=0.02)
    client = client_on(publisher)

    # When 8 threads send 10 messages each through it
    started = time.monotonic()
    ids, errors = send_from_threads(client, threads=8, each=10)
    elapsed = time.monotonic() - started

    # Then every send returned its own id, each published once...
    assert not errors
    assert len(ids) == len(set(ids)) == 80
    assert sorted(publisher.published) == sorted(ids)
    # ...their confirms awaited together: a round trip per send would take 10 x 20 ms per thread at
    # best, and 80 x 20 ms = 1.6 s with sends serialised
    assert max(publisher.rounds) > 1
    assert elapsed < 0.6


def test_a_refused_message_fails_only_the_send_that_carried_it():
    # Given one message RabbitMQ will not route, sent while other threads send good ones
    publisher = SlowConfirms(round_trip_s=0.02)
    client = client_on(publisher)
    good, errors = [], []

    def good_sender() -> None:
        for _ in range(5):
            good.append(client.send("monitor_jobs", {}).message_id)

    threads = [threading.Thread(target=good_sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    publisher._refuse.add("bad-one")
    with pytest.raises(PublishFailed, match=r"1 message\(s\) unconfirmed.*unroutable") as refused:
        client.send("monitor_jobs", {}, message_id="bad-one")
    errors.append(refused.value)
    for thread in threads:
        thread.join(timeout=30)

    # Then the others' sends all returned, and only the refused one failed
    assert len(good) == len(set(good)) == 20 and len(errors) == 1
    assert set(good) <= set(publisher.published) and "bad-one" not in good


def test_an_empty_send_many_returns_at_once():
    client = client_on(SlowConfirms(round_trip_s=0.02))
    assert client.send_many([]) == []


class DropsOnce(SlowConfirms):
    """Delivers the first confirm, then loses the connection with the other confirms in flight."""

    def __init__(self) -> None:
        super().__init__(round_trip_s=0.005)
        self.dropped = False

    def pump(self, *, time_limit_s: float) -> None:
        if self.dropped or not self._in_flight:
            return super().pump(time_limit_s=time_limit_s)
        import pika.exceptions

        self.dropped = True
        (_, first), self._in_flight = self._in_flight[0], []
        self.confirmed.add(first)
        raise pika.exceptions.StreamLostError("connection lost (test)")


def test_a_lost_connection_publishes_again_only_what_was_not_confirmed():
    from services.engine.client import Send

    publisher = DropsOnce()
    client = client_on(publisher)

    sent = client.send_many([Send("monitor_jobs", {}) for _ in range(5)])

    ids = [s.message_id for s in sent]
    assert publisher.dropped
    assert set(publisher.published) == set(ids)
    # the one confirmed before the drop went out once, the other four again on the new connection
    assert [publisher.published.count(i) for i in ids] == [1, 2, 2, 2, 2]
