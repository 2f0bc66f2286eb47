"""Notifications' tables: alert records, the outbox, recipients, alert rules and their state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from services.storage.models.columns import utc_field


class Alert(SQLModel, table=True):
    """An alert raised by a check (an overdue job, ...): open until its condition clears."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_open", "key", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)  # what it is about, e.g. "job_overdue:prices-extended-hours"
    kind: str = Field(max_length=64)
    account: str | None = Field(default=None, max_length=100)  # whose alert; None: the operators'
    severity: str = Field(max_length=16)  # info | warning | critical
    title: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    raised_at: datetime = utc_field()
    last_seen_at: datetime = utc_field()
    resolved_at: datetime | None = utc_field(default=None)


class Notification(SQLModel, table=True):
    """The outbox: one row per message to one recipient on one channel. `key` is the claim that makes
    a redelivered task skip what was sent (docs/notifications.md: the delivered-once rule)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_updated", "status", "updated_at"),
        Index("ix_notifications_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)  # e.g. "<message id>:email:<address>"
    message_id: str | None = Field(default=None, max_length=128)  # the task that queued it
    channel: str = Field(max_length=16)  # email | webhook | slack
    recipient: str = Field(max_length=1000)  # an address or a URL
    subject: str = Field(max_length=200)  # the email subject, the webhook event, the alert title
    account: str | None = Field(default=None, max_length=100)
    status: str = Field(max_length=16)  # queued | sending | sent | failed
    attempts: int = 0
    last_response: str | None = Field(default=None, max_length=1000)
    # What to deliver, read whole by the sender (template and context, event and data, text and blocks).
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()  # a `sending` row older than the lease belongs to a dead worker
    sent_at: datetime | None = utc_field(default=None)


class NotificationRecipient(SQLModel, table=True):
    """Where an account's notifications go: one row per channel address, with its preferences.
    `portfolio_id` narrows a row to one portfolio's alerts."""

    __tablename__ = "notification_recipients"
    __table_args__ = (Index("ix_notification_recipients_account", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=100)
    portfolio_id: int | None = Field(default=None, foreign_key="portfolios.id")
    channel: str = Field(max_length=16)  # email | webhook | slack
    address: str = Field(max_length=1000)  # an email address or a webhook / Slack URL
    min_severity: str = Field(default="warning", max_length=16)  # info | warning | critical
    alerts: bool = True
    digest: bool = True  # the daily digest (email only)
    active: bool = True
    created_at: datetime = utc_field()
    # Signs this webhook recipient's deliveries (X-Tickwork-Signature), shown once when it is added;
    # None (rows from before 0008): TICKWORK_WEBHOOK_SECRET signs them (docs/notifications.md).
    signing_secret: str | None = Field(default=None, max_length=100)


class AlertRule(SQLModel, table=True):
    """An account's own alert rule; accounts without one of a kind get the default (from settings)."""

    __tablename__ = "alert_rules"

    id: int | None = Field(default=None, primary_key=True)
    account: str | None = Field(default=None, max_length=100)  # None: an operators' rule
    portfolio_id: int | None = Field(default=None, foreign_key="portfolios.id")  # None: every one
    kind: str = Field(max_length=32)  # drawdown | daily_pnl | position_weight | price_move | ...
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    severity: str = Field(default="warning", max_length=16)
    cooldown_s: float = 3600.0
    active: bool = True
    created_at: datetime = utc_field()


class AlertRuleState(SQLModel, table=True):
    """Where one rule stands for one subject (a portfolio, a position, an instrument, a job):
    firing or not, and when it last notified, which the cooldown counts from."""

    __tablename__ = "alert_rule_states"

    rule: str = Field(primary_key=True, max_length=64)  # "rule:<id>" or "default:<kind>"
    subject: str = Field(primary_key=True, max_length=100)  # e.g. "portfolio:7", "instrument:AAPL"
    firing: bool = False
    value: str | None = Field(default=None, max_length=100)  # the last measure, for the record
    fired_at: datetime | None = utc_field(default=None)  # when the current (or last) firing began
    notified_at: datetime | None = utc_field(default=None)
    resolved_at: datetime | None = utc_field(default=None)
    updated_at: datetime = utc_field()
