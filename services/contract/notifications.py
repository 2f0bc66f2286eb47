"""Notification actors (queue `notifications`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from services.contract.fields import EmailAddress, Id, UrlAsSent
from services.contract.spec import ActorSpec, NoArguments, Payload
from services.engine.priority import Priority

Severity = Literal["info", "warning", "critical"]
OUTBOX = "delivered through the outbox keyed by message id: a redelivery is not sent twice"
# Who asked for a notification someone else requested, shown inside the signed webhook body (the API
# sets it to the calling token, whatever the body said); None: "a service" that published it itself.
RequestedBy = Annotated[
    str | None,
    Field(None, min_length=1, max_length=200, description="who asked for it, shown in the signed webhook body"),
]


class SendEmail(Payload):
    to: list[EmailAddress] = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=200)
    template: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[str] = Field(default_factory=list, max_length=10)


class SendAlert(Payload):
    title: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=4000)
    severity: Severity = "warning"
    channels: list[Literal["email", "slack", "webhook"]] | None = None
    account: str | None = Field(
        None, min_length=1, max_length=100, description="whose recipients get it; None: the operators"
    )
    portfolio_id: Id | None = Field(None, description="also reaches the account's recipients of this portfolio")
    requested_by: RequestedBy = None


class WebhookCallback(Payload):
    url: UrlAsSent
    event: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)
    requested_by: RequestedBy = None


class GenerateDigest(Payload):
    account_id: Id | None = Field(
        None,
        exclude=True,  # never passed to the actor: validation refuses any value but None
        description="unsupported: accounts are named, not numbered (give `account`); refused when set",
    )
    account: str | None = Field(
        None, min_length=1, max_length=100, description="None sends every account's digest and the operators'"
    )
    day: date | None = Field(None, description="the UTC day summed up; None: today (UTC)")

    @field_validator("account_id")
    @classmethod
    def _accounts_are_named(cls, value: int | None) -> int | None:
        if value is not None:
            raise ValueError("accounts are named, not numbered: give `account` instead")
        return value


NOTIFICATION_ACTORS = [
    ActorSpec("send_email", "notifications", SendEmail, idempotency=OUTBOX),
    ActorSpec("send_alert", "notifications", SendAlert, priority=Priority.HIGH, idempotency=OUTBOX),
    ActorSpec("webhook_callback", "notifications", WebhookCallback, idempotency=OUTBOX),
    ActorSpec(
        "generate_digest",
        "notifications",
        GenerateDigest,
        priority=Priority.LOW,
        idempotency="one digest per account and day in the outbox",
    ),
    ActorSpec(
        "evaluate_alerts",
        "notifications",
        NoArguments,
        idempotency="alert state changes are keyed by rule; cooldowns stop repeats",
    ),
    ActorSpec(
        "monitor_jobs",
        "notifications",
        NoArguments,
        idempotency="an overdue alert is raised once per job and interval",
    ),
]
