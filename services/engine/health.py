"""Readiness checks shared by the worker's metrics endpoint and, later, the API."""

from __future__ import annotations

import pika
import sqlalchemy

from services.storage.db import make_engine


def check_broker(url: str, *, timeout_s: float = 2.0) -> str:
    """'ok', or why RabbitMQ cannot be reached."""
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout_s
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"[:300]


def check_database(url: str) -> str:
    """'ok', or why the database cannot be queried."""
    try:
        with make_engine(url).connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        return "ok"
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"[:300]
