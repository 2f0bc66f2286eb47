"""Every table, in one module (Alembic's autogenerate reads `SQLModel.metadata` from here).

Conventions: money and prices are `Decimal` with explicit digits; timestamps are timezone-aware UTC
(`sa_type=DateTime(timezone=True)`); JSON columns hold what is read whole, never what is queried.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _utc(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class Task(SQLModel, table=True):
    """The task ledger: one row per message a worker saw or a client submitted, keyed by message id."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_state_created", "state", "created_at"),
        Index("ix_tasks_actor_created", "actor", "created_at"),
        Index("ix_tasks_finished", "finished_at"),
    )

    message_id: str = Field(primary_key=True, max_length=128)
    actor: str = Field(max_length=128)
    queue: str = Field(max_length=64)
    priority: str = Field(max_length=16)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=16)
    attempts: int = 0
    progress: float = 0.0
    current_step: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc()
    scheduled_for: datetime | None = _utc(default=None)
    started_at: datetime | None = _utc(default=None)
    finished_at: datetime | None = _utc(default=None)
    updated_at: datetime = _utc()
    worker: str | None = Field(default=None, max_length=128)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    error_traceback: str | None = Field(default=None, sa_column=Column(Text))
    result_summary: str | None = Field(default=None, sa_column=Column(Text))
    log_tail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    cancel_requested_at: datetime | None = _utc(default=None)


class WorkerProcess(SQLModel, table=True):
    """A worker process, registered at boot and kept fresh by its heartbeat."""

    __tablename__ = "workers"

    id: str = Field(primary_key=True, max_length=128)  # host:pid:started
    host: str = Field(max_length=128)
    pid: int
    queues: str = Field(max_length=512)
    started_at: datetime = _utc()
    heartbeat_at: datetime = _utc()
    stopped_at: datetime | None = _utc(default=None)
    in_flight: int = 0
    processed: int = 0
    failed: int = 0


class DeadLetterAction(SQLModel, table=True):
    """A replay or purge of dead letters: who asked, what matched, how many moved."""

    __tablename__ = "dead_letter_actions"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=16)  # replay | purge
    queue: str = Field(max_length=64)
    selector: str = Field(max_length=500)  # the filter, as given
    message_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    count: int = 0
    requested_by: str = Field(max_length=128)
    at: datetime = _utc()


class ScheduledJob(SQLModel, table=True):
    """A timetable job as the scheduler last saw it, with its runtime state (paused or not).

    The scheduler writes the definition columns at start-up and `next_run_at` as it goes; operators
    write `paused`. The API and CLI read jobs from here, so they need neither periodiq nor the actors."""

    __tablename__ = "scheduled_jobs"

    name: str = Field(primary_key=True, max_length=64)
    actor: str = Field(max_length=128)
    schedule: str = Field(max_length=200)  # human-readable: cron spec, timezone and market gate
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    grace_s: float
    overdue_after_s: float
    description: str = Field(default="", max_length=500)
    active: bool = True  # False while the actor is not implemented in this deployment
    paused: bool = False
    paused_by: str | None = Field(default=None, max_length=128)
    paused_at: datetime | None = _utc(default=None)
    resumed_at: datetime | None = _utc(default=None)
    next_run_at: datetime | None = _utc(default=None)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ScheduledRun(SQLModel, table=True):
    """One tick of one job (or a manual trigger). The primary key is the claim: of two schedulers,
    the one whose insert lands sends the message."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index("ix_scheduled_runs_message", "message_id"),)

    job: str = Field(primary_key=True, max_length=64)
    due_at: datetime = _utc(primary_key=True)
    kind: str = Field(max_length=16)  # scheduled | manual
    outcome: str = Field(max_length=16)  # claimed | sent | skipped
    message_id: str = Field(max_length=128)
    scheduler: str = Field(max_length=128)
    claimed_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None)
    detail: str | None = Field(default=None, max_length=500)


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
    raised_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    resolved_at: datetime | None = _utc(default=None)


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API. Only a hash of its secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)  # public part of the token, `tw_<id>_<secret>`
    name: str = Field(max_length=100)
    secret_sha256: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None)
    last_used_at: datetime | None = _utc(default=None)


class AuditEntry(SQLModel, table=True):
    """One state-changing API call: who, what, on what, when, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc()
    who: str = Field(max_length=128)  # "token:<id> (<name>)"
    action: str = Field(max_length=64)  # e.g. task.create, task.cancel, dlq.replay
    target: str = Field(default="", max_length=500)
    status: int
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` already used to create a task: a repeat gets the first answer back."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=200)
    token_id: str = Field(primary_key=True, max_length=16)
    request_sha256: str = Field(max_length=64)
    task_id: str = Field(max_length=128)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class Backup(SQLModel, table=True):
    """The backup catalog: one row per backup file, with what verification found."""

    __tablename__ = "backups"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    path: str = Field(max_length=1000)
    engine: str = Field(max_length=16)  # postgresql | sqlite
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    row_counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    verified_at: datetime | None = _utc(default=None)
    verification: str | None = Field(default=None, max_length=1000)  # "ok" or what went wrong
    deleted_at: datetime | None = _utc(default=None)  # rotated out: the file is gone


# -- market data ------------------------------------------------------------------------------------
# Prices carry 10 decimal places (crypto quotes below a cent); amounts of money carry 4.
def _price(**kwargs: Any) -> Any:
    return Field(max_digits=24, decimal_places=10, **kwargs)


def _money(**kwargs: Any) -> Any:
    return Field(max_digits=24, decimal_places=4, **kwargs)


def _quantity(**kwargs: Any) -> Any:
    return Field(max_digits=28, decimal_places=10, **kwargs)


class Instrument(SQLModel, table=True):
    """A symbol we price, where its prices come from, and the last good price we hold for it.

    `last_price*` only ever hold a price a provider returned; a failed refresh leaves them alone and
    records `price_error`, so the age of the price (now - last_price_at) is what tells it is stale."""

    __tablename__ = "instruments"
    __table_args__ = (Index("ix_instruments_active_class", "active", "asset_class"),)

    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(max_length=32, unique=True)  # ours: AAPL, BTC-USD, EURUSD=X
    name: str = Field(default="", max_length=200)
    asset_class: str = Field(max_length=16)  # equity | etf | crypto | fx | index
    exchange: str | None = Field(default=None, max_length=32)
    currency: str = Field(default="USD", max_length=8)
    # Providers in fallback order, and the symbol each knows it by (ours when absent).
    providers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    provider_symbols: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # Set when a provider answered that it does not know the symbol: it is not asked again.
    unknown_at: datetime | None = _utc(default=None)
    last_price: Decimal | None = _price(default=None)
    last_price_at: datetime | None = _utc(default=None)  # the provider's time for that price
    last_price_source: str | None = Field(default=None, max_length=16)
    price_checked_at: datetime | None = _utc(default=None)  # the last refresh attempt, good or not
    price_error: str | None = Field(default=None, max_length=500)  # why the last attempt failed


class BarFields(SQLModel):
    """One OHLCV bar. Bars are keyed by instrument, interval and start time, so writes are upserts.
    A bar whose provider gave no close is not stored: gaps stay gaps."""

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    interval: str = Field(max_length=8, primary_key=True)
    ts: datetime = _utc(primary_key=True)  # bar start; daily bars at 00:00 UTC of the trading day
    open: Decimal | None = _price(default=None)
    high: Decimal | None = _price(default=None)
    low: Decimal | None = _price(default=None)
    close: Decimal = _price()
    adj_close: Decimal | None = _price(default=None)
    volume: Decimal | None = _quantity(default=None)
    source: str = Field(max_length=16)


class DailyBar(BarFields, table=True):
    """Daily and weekly bars, kept for years (benchmark series are the benchmark's daily bars)."""

    __tablename__ = "daily_bars"


class IntradayBar(BarFields, table=True):
    """Minute and hourly bars, kept for weeks."""

    __tablename__ = "intraday_bars"


class CorporateAction(SQLModel, table=True):
    """A split (value = new shares per old share) or a cash dividend (value = amount per share)."""

    __tablename__ = "corporate_actions"

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    ex_date: date = Field(primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)  # split | dividend
    value: Decimal = _price()
    source: str = Field(max_length=16)


class AssetInfo(SQLModel, table=True):
    """What a provider says about an instrument (name, sector, ...), refreshed by fetch_asset_info."""

    __tablename__ = "asset_info"

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    name: str = Field(default="", max_length=200)
    asset_type: str | None = Field(default=None, max_length=32)
    exchange: str | None = Field(default=None, max_length=64)
    sector: str | None = Field(default=None, max_length=100)
    industry: str | None = Field(default=None, max_length=100)
    currency: str | None = Field(default=None, max_length=8)
    source: str = Field(max_length=16)
    fetched_at: datetime = _utc()
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProviderState(SQLModel, table=True):
    """One provider's shared state, so every worker process on every host obeys one rate limit and
    one circuit breaker. Times are epoch seconds: they are compared in SQL on both databases."""

    __tablename__ = "provider_state"

    provider: str = Field(primary_key=True, max_length=16)
    window_start: float = 0.0  # start of the current rate-limit window
    used: int = 0  # requests (or Binance request weight) spent in that window
    blocked_until: float = 0.0  # a 429/418 Retry-After: nobody calls before this
    failures: int = 0  # consecutive failed calls
    circuit_open_until: float = 0.0  # the circuit is open (calls refused) until this
    last_error: str | None = Field(default=None, max_length=500)


# -- portfolios ---------------------------------------------------------------------------------------


class Portfolio(SQLModel, table=True):
    """A portfolio, with its account summary as of the last valuation."""

    __tablename__ = "portfolios"
    # Every revaluation rewrites each row: free room in each page keeps those updates HOT (no index
    # writes) on PostgreSQL, which halves the time of a full revaluation.
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    account: str = Field(max_length=100)  # the owner; notifications and digests go per account
    base_currency: str = Field(default="USD", max_length=8)
    benchmark: str = Field(default="SPY", max_length=32)
    created_at: datetime = _utc()
    # The account summary, rewritten by each valuation.
    cash: Decimal = _money(default=Decimal(0))
    market_value: Decimal = _money(default=Decimal(0))
    total_value: Decimal = _money(default=Decimal(0))
    cost_basis: Decimal = _money(default=Decimal(0))
    unrealized_pnl: Decimal = _money(default=Decimal(0))
    stale_positions: int = 0  # positions valued with a price older than the staleness limit
    unpriced_positions: int = 0  # positions with no price at all (left out of market value)
    valued_at: datetime | None = _utc(default=None)


class Trade(SQLModel, table=True):
    """An executed trade: positions and cash are recomputed from these and the cash flows."""

    __tablename__ = "trades"
    __table_args__ = (Index("ix_trades_portfolio_executed", "portfolio_id", "executed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int = Field(foreign_key="instruments.id")
    side: str = Field(max_length=4)  # buy | sell
    quantity: Decimal = _quantity()
    price: Decimal = _price()
    fee: Decimal = _money(default=Decimal(0))
    executed_at: datetime = _utc()
    external_id: str | None = Field(default=None, max_length=128, unique=True)  # the order's id


class CashFlow(SQLModel, table=True):
    """Money put into (positive) or taken out of (negative) a portfolio: what return figures discount."""

    __tablename__ = "cash_flows"
    __table_args__ = (Index("ix_cash_flows_portfolio_at", "portfolio_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    at: datetime = _utc()
    amount: Decimal = _money()
    note: str = Field(default="", max_length=200)


class Position(SQLModel, table=True):
    """A holding, recomputed from trades, with its valuation as of the last refresh."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "instrument_id"),
        {"postgresql_with": {"fillfactor": 70}},  # rewritten by every revaluation: see Portfolio
    )

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int = Field(foreign_key="instruments.id")
    quantity: Decimal = _quantity()
    average_cost: Decimal = _price()
    # Valuation: the price used and its time, flagged when older than the staleness limit.
    price: Decimal | None = _price(default=None)
    price_at: datetime | None = _utc(default=None)
    price_stale: bool = False
    market_value: Decimal | None = _money(default=None)
    unrealized_pnl: Decimal | None = _money(default=None)
    weight: float | None = None  # of the portfolio's total value, cash included
    valued_at: datetime | None = _utc(default=None)


class PortfolioSnapshot(SQLModel, table=True):
    """A portfolio's values at the end of one day; one row per portfolio and day."""

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (Index("ix_portfolio_snapshots_taken", "taken_at"),)

    portfolio_id: int = Field(foreign_key="portfolios.id", primary_key=True)
    day: date = Field(primary_key=True)
    taken_at: datetime = _utc()
    cash: Decimal = _money()
    market_value: Decimal = _money()
    total_value: Decimal = _money()
    cost_basis: Decimal = _money()
    unrealized_pnl: Decimal = _money()
    net_flow: Decimal = _money(default=Decimal(0))  # deposits minus withdrawals that day
    positions: int = 0
    stale_positions: int = 0


class PortfolioMetrics(SQLModel, table=True):
    """Performance figures of one portfolio over a trailing window, as of one day (conventions in
    docs/market-data.md). Ratios are floats: statistics, not money."""

    __tablename__ = "portfolio_metrics"

    portfolio_id: int = Field(foreign_key="portfolios.id", primary_key=True)
    as_of: date = Field(primary_key=True)
    window_days: int = Field(primary_key=True)
    computed_at: datetime = _utc()
    observations: int  # daily returns the figures rest on
    benchmark: str = Field(max_length=32)
    time_weighted_return: float | None = None
    money_weighted_return: float | None = None  # XIRR, annualized
    annual_return: float | None = None
    annual_volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    max_drawdown: float | None = None
    calmar: float | None = None
    beta: float | None = None
    alpha: float | None = None


class Report(SQLModel, table=True):
    """The reports catalog: one row per portfolio, period kind and period start (a re-run overwrites
    it), naming its HTML and CSV files relative to TICKWORK_REPORTS_DIR, with the figures shown."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("portfolio_id", "kind", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    kind: str = Field(max_length=8)  # daily | weekly | monthly
    period_start: date
    period_end: date
    created_at: datetime = _utc()
    html_path: str = Field(max_length=500)  # relative to the reports folder: an email attachment's name
    csv_path: str = Field(max_length=500)
    html_bytes: int
    csv_bytes: int
    html_sha256: str = Field(max_length=64)
    csv_sha256: str = Field(max_length=64)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# -- notifications ------------------------------------------------------------------------------------


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
    created_at: datetime = _utc()
    updated_at: datetime = _utc()  # a `sending` row older than the lease belongs to a dead worker
    sent_at: datetime | None = _utc(default=None)


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
    created_at: datetime = _utc()


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
    created_at: datetime = _utc()


class AlertRuleState(SQLModel, table=True):
    """Where one rule stands for one subject (a portfolio, a position, an instrument, a job):
    firing or not, and when it last notified, which the cooldown counts from."""

    __tablename__ = "alert_rule_states"

    rule: str = Field(primary_key=True, max_length=64)  # "rule:<id>" or "default:<kind>"
    subject: str = Field(primary_key=True, max_length=100)  # e.g. "portfolio:7", "instrument:AAPL"
    firing: bool = False
    value: str | None = Field(default=None, max_length=100)  # the last measure, for the record
    fired_at: datetime | None = _utc(default=None)  # when the current (or last) firing began
    notified_at: datetime | None = _utc(default=None)
    resolved_at: datetime | None = _utc(default=None)
    updated_at: datetime = _utc()
