"""process_orders on real workers: redelivered and concurrent runs fill each order once, and a worker
SIGKILLed inside a fill transaction leaves nothing half-applied; the order fills on redelivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests.support.ledger import all_tasks, wait_state
from tests.support.trading_books import Clock, Desk
from tests.support.workers import wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize(
        "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]


def funded_desk(database_url: str, orders: int) -> tuple[Desk, list[int]]:
    """A portfolio with `orders` market buys over two crypto instruments, and a new price for both."""
    desk = Desk(database_url, Clock(datetime.now(UTC)))
    desk.fund("100000")
    instruments = [desk.instrument("AAA-USD", "crypto", "10"), desk.instrument("BBB-USD", "crypto", "20")]
    for number in range(orders):
        desk.place(("AAA-USD", "BBB-USD")[number % 2], "buy", "1", client_order_id=f"o{number}")
    for instrument in instruments:
        desk.price(instrument, "10" if instrument == instruments[0] else "20")
    return desk, instruments


# Free fills, so that the books are round numbers (fees are the fill engine's and placing's tests).
NO_FEES = {"TICKWORK_FEE_CRYPTO_TAKER": "0", "TICKWORK_FEE_CRYPTO_MAKER": "0"}


def expected_books(desk: Desk, instruments: list[int], orders: int) -> tuple[D, dict[int, tuple[D, D]]]:
    each = orders // 2
    cash = D(100000) - each * D(10) - each * D(20)
    return cash, {instruments[0]: (D(each), D(10)), instruments[1]: (D(each), D(20))}


def test_the_same_message_delivered_twice_and_ten_runs_on_two_workers_fill_each_order_once(
    start_workers, client, database_url
):
    # Given 20 working orders with fresh prices, and two worker processes on the orders queue
    desk, instruments = funded_desk(database_url, 20)
    start_workers(queues=["orders"], processes=2, threads=2, **NO_FEES)
    # When the same message is published twice (a redelivery) and ten more run at once
    message_id = uuid.uuid4().hex
    client.send("process_orders", {"instrument_ids": instruments}, message_id=message_id)
    client.send("process_orders", {"instrument_ids": instruments}, message_id=message_id)
    sent = [client.send("process_orders", {}) for _ in range(10)]
    for message in sent:
        wait_state(database_url, message.message_id, "completed", timeout=60)
    wait_state(database_url, message_id, "completed", timeout=60)
    # Then every order filled exactly once: fills, trades, cash and position equal a single run
    assert len(desk.fills()) == 20 and len(desk.trades()) == 20
    assert desk.books() == expected_books(desk, instruments, 20)
    assert desk.rebuilt_books() == desk.books()
    assert sum("20 fills" in (t.result_summary or "") for t in all_tasks(database_url)) <= 1


def test_a_worker_killed_inside_the_fill_transaction_leaves_no_half_fill_and_redelivery_fills(
    start_workers, client, database_url, tmp_path: Path
):
    # Given 4 working orders with fresh prices, and a worker that SIGKILLs itself before its first
    # fill transaction commits (TICKWORK_TEST_KILL_MID_FILL)
    desk, instruments = funded_desk(database_url, 4)
    marker = tmp_path / "killed"
    start_workers(queues=["orders"], processes=1, threads=1, TICKWORK_TEST_KILL_MID_FILL=str(marker), **NO_FEES)
    # When process_orders is sent and the worker dies mid-fill
    sent = client.send("process_orders", {"instrument_ids": instruments})
    wait_for(marker.exists, 60, "the worker to kill itself inside the fill transaction")
    # Then nothing of the fill was applied: no fills, no trades, cash and positions untouched
    assert desk.fills() == [] and desk.trades() == []
    assert desk.books() == (D(100000), {})
    # And once another worker runs the redelivered message, every order is filled once
    start_workers(queues=["orders"], processes=1, threads=1, TICKWORK_TEST_KILL_MID_FILL=str(marker), **NO_FEES)
    wait_state(database_url, sent.message_id, "completed", timeout=90)
    assert len(desk.fills()) == 4 and len(desk.trades()) == 4
    assert desk.books() == expected_books(desk, instruments, 4)
