from services.engine.priority import MAX_PRIORITY, Priority
from services.engine.topology import canonical_queue, dead_letter_queue, delay_queue, work_queue_arguments


def test_levels_map_to_amqp_numbers_and_missing_priority_is_low():
    assert [p.amqp for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)] == [0, 1, 2, 3]
    assert Priority.from_amqp(None) is Priority.LOW
    assert Priority.from_amqp(9) is Priority.CRITICAL


def test_worker_rank_runs_critical_first_in_dramatiq_order():
    assert Priority.CRITICAL.worker_rank < Priority.HIGH.worker_rank < Priority.LOW.worker_rank


def test_work_and_delay_queues_dead_letter_to_the_xq_with_priorities():
    arguments = work_queue_arguments("refresh.DQ")
    assert arguments["x-dead-letter-routing-key"] == "refresh.XQ"
    assert arguments["x-max-priority"] == MAX_PRIORITY
    assert (delay_queue("orders"), dead_letter_queue("orders"), canonical_queue("orders.DQ")) == (
        "orders.DQ",
        "orders.XQ",
        "orders",
    )
