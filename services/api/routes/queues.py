"""/api/v1/queues: depth, consumers and rates of every queue, from RabbitMQ."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import Config, Reader
from services.api.schemas import Queue
from services.engine.queue_stats import queue_stats

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])


@router.get("", response_model=list[Queue])
def queues(config: Config, _: Reader) -> list[Queue]:
    """Each work queue with its delay (`.DQ`) and dead-letter (`.XQ`) queue. Rates need
    TICKWORK_RABBITMQ_MANAGEMENT_URL; without it they are null."""
    stats = queue_stats(config.rabbitmq_url, config.tickwork_rabbitmq_management_url)
    return [Queue(**item.as_dict()) for item in stats]
