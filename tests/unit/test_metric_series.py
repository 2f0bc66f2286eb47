"""Which labelled series a worker declares at 0 when it boots."""

from __future__ import annotations

from dataclasses import dataclass

from actors.middleware.metrics import dead_letter_series


@dataclass
class FakeActor:
    actor_name: str
    queue_name: str


def test_dead_letter_series_cover_given_unimplemented_and_unreadable_messages():
    # Given a worker that implements one refresh actor
    declared = set(dead_letter_series([FakeActor("refresh_all_prices", "refresh")]))
    # Then its own failures and rejections, the contract's other refresh actors as unknown_actor, and
    # the queue's unreadable messages as actor "unknown" are all declared
    assert ("refresh", "refresh_all_prices", "failed") in declared
    assert ("refresh", "refresh_all_prices", "invalid_payload") in declared
    assert ("refresh", "fetch_market_data", "unknown_actor") in declared
    assert ("refresh", "unknown", "undecodable") in declared
    # ... and nothing of queues it does not consume
    assert {queue for queue, _, _ in declared} == {"refresh"}


def test_a_delay_queue_is_counted_under_its_work_queue():
    declared = set(dead_letter_series([FakeActor("refresh_all_prices", "refresh.DQ")]))
    assert ("refresh", "refresh_all_prices", "failed") in declared
