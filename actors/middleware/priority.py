"""Puts each actor's default priority on the wire.

Dramatiq's actor `priority` only orders messages inside one worker; RabbitMQ orders by the AMQP
`priority` property, which Dramatiq sets from the `broker_priority` message option and nothing else.
This middleware fills that option from the contract whenever a sender left it out.
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import Middleware

from services.contract import CONTRACT, Contract


class DefaultPriority(Middleware):
    """Sets `broker_priority` from the actor's default level unless the message carries one."""

    def __init__(self, *, contract: Contract = CONTRACT) -> None:
        self.contract = contract

    def before_enqueue(self, broker: Any, message: Any, delay: int | None) -> None:
        if message.options.get("broker_priority") is None and message.actor_name in self.contract:
            message.options["broker_priority"] = self.contract.get(message.actor_name).priority.amqp
