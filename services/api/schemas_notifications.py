"""Request and response bodies of /api/v1/notifications (recipients, alert rules, the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from services.api.schemas import Strict
from services.api.strict import PRINTABLE, JsonBool
from services.contract.fields import Id, json_number

Channel = Literal["email", "slack", "webhook"]
Severity = Literal["info", "warning", "critical"]
RuleKind = Literal["drawdown", "daily_pnl", "position_weight", "price_move", "stale_prices", "overdue_jobs"]


class RecipientCreate(Strict):
    account: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    channel: Channel
    address: str = Field(
        min_length=1, max_length=1000, pattern=PRINTABLE, description="An email address, or a webhook or Slack URL"
    )
    portfolio_id: Id | None = Field(None, description="Only this portfolio's alerts (default: all the account's)")
    min_severity: Severity = "warning"
    alerts: JsonBool = True
    digest: JsonBool = Field(True, description="The daily digest (email recipients only)")


class RecipientOut(BaseModel):
    """A recipient; a webhook or Slack URL is shown redacted (host and a short fingerprint)."""

    id: int
    account: str
    portfolio_id: int | None
    channel: str
    address: str
    min_severity: str
    alerts: bool
    digest: bool
    active: bool
    created_at: datetime


class RecipientCreated(RecipientOut):
    """A new recipient; a webhook's `signing_secret` is shown this once (it signs its deliveries)."""

    signing_secret: str | None = Field(
        None, description="Verify this webhook's X-Tickwork-Signature with it; shown only now (null: not a webhook)"
    )


class RuleCreate(Strict):
    kind: RuleKind
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Per kind: limit (a fraction, 0.10 is 10 %), window_days (drawdown), "
        "direction (daily_pnl: both, loss, gain), max_age_seconds (stale_prices)",
    )
    account: str | None = Field(None, min_length=1, max_length=100, pattern=PRINTABLE, description="None: operators")
    portfolio_id: Id | None = None
    severity: Severity = "warning"
    cooldown_s: Annotated[float, Field(ge=0, le=30 * 86400), BeforeValidator(json_number)] = 3600.0


class RuleToggle(Strict):
    active: JsonBool


class RuleOut(BaseModel):
    id: int
    account: str | None
    portfolio_id: int | None
    kind: str
    params: dict[str, Any]
    severity: str
    cooldown_s: float
    active: bool
    created_at: datetime


class OutboxEntry(BaseModel):
    """An outbox row; URLs are redacted in every field, and the payload is not shown."""

    id: int
    key: str
    channel: str
    recipient: str
    subject: str
    account: str | None
    status: str
    attempts: int
    last_response: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class AlertsForwarded(BaseModel):
    alerts: int  # how many alerts of the group were sent on
    task_ids: list[str]  # one send_alert task each
