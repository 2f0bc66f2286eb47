"""Every table, one module per domain (Alembic's autogenerate reads `SQLModel.metadata`, filled by
importing them all here). A new domain's tables go in a module of their own, listed below.

Conventions: money and prices are `Decimal` with explicit digits; timestamps are timezone-aware UTC
(`sa_type=DateTime(timezone=True)`); JSON columns hold what is read whole, never what is queried.
"""

from sqlmodel import SQLModel

from services.storage.models.api import ApiToken, AuditEntry, IdempotencyKey
from services.storage.models.bots import Bot, BotState, TradingSignal
from services.storage.models.engine import DeadLetterAction, Task, WorkerProcess
from services.storage.models.maintenance import Backup, Report
from services.storage.models.market_data import (
    AssetInfo,
    BarFields,
    CorporateAction,
    DailyBar,
    Instrument,
    IntradayBar,
    ProviderState,
)
from services.storage.models.notifications import Alert, AlertRule, AlertRuleState, Notification, NotificationRecipient
from services.storage.models.portfolio import (
    CashFlow,
    PerformanceFigures,
    Portfolio,
    PortfolioMetrics,
    PortfolioSnapshot,
    Position,
    Trade,
)
from services.storage.models.scheduling import ScheduledJob, ScheduledRun
from services.storage.models.trading import Fill, Order, RiskEvent, RiskLimits, TradingSwitch

metadata = SQLModel.metadata

__all__ = [
    "Alert",
    "AlertRule",
    "AlertRuleState",
    "ApiToken",
    "AssetInfo",
    "AuditEntry",
    "Backup",
    "BarFields",
    "Bot",
    "BotState",
    "CashFlow",
    "CorporateAction",
    "DailyBar",
    "DeadLetterAction",
    "Fill",
    "IdempotencyKey",
    "Instrument",
    "IntradayBar",
    "Notification",
    "NotificationRecipient",
    "Order",
    "PerformanceFigures",
    "Portfolio",
    "PortfolioMetrics",
    "PortfolioSnapshot",
    "Position",
    "ProviderState",
    "Report",
    "RiskEvent",
    "RiskLimits",
    "ScheduledJob",
    "ScheduledRun",
    "Task",
    "Trade",
    "TradingSignal",
    "TradingSwitch",
    "WorkerProcess",
    "metadata",
]
