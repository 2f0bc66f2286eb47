"""/api/v1/notifications: recipients and their preferences, alert rules, and the outbox (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.api.deps import Admin, Client, Config, Db, Notifier, Reader
from services.api.lookups import row_id
from services.api.schemas_notifications import (
    AlertsForwarded,
    Channel,
    OutboxEntry,
    RecipientCreate,
    RecipientCreated,
    RecipientOut,
    RuleCreate,
    RuleOut,
    RuleToggle,
)
from services.api.strict import PRINTABLE
from services.notifications import outbox_view, recipients, stored_rules
from services.notifications.alertmanager import AlertmanagerWebhook, alerts_to_send
from services.notifications.ssrf import SsrfGuard

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Account = Annotated[str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)]


@router.get("/recipients", response_model=list[RecipientOut])
def list_recipients(db: Db, _: Reader, account: Account = None) -> list[RecipientOut]:
    """Recipients by account; webhook and Slack URLs are redacted."""
    rows = recipients.list_recipients(session=db, account=account)
    return [RecipientOut(**recipients.recipient_view(row)) for row in rows]


@router.post("/recipients", response_model=RecipientCreated, status_code=201)
def create_recipient(body: RecipientCreate, db: Db, config: Config, _: Admin) -> RecipientCreated:
    """Add a recipient; a URL is checked by the SSRF guard now (422 when refused). A webhook gets its
    own signing secret, shown in this answer only."""
    guard = SsrfGuard.from_setting(config.tickwork_ssrf_allow)
    wanted = recipients.RecipientIn(**body.model_dump())
    row = recipients.add_recipient(session=db, recipient=wanted, guard=guard, now=datetime.now(UTC))
    return RecipientCreated(**recipients.recipient_view(row), signing_secret=row.signing_secret)


@router.delete("/recipients/{recipient_id}", status_code=204)
def delete_recipient(recipient_id: int, db: Db, _: Admin) -> Response:
    recipients.remove_recipient(session=db, recipient_id=row_id("recipient", recipient_id))
    return Response(status_code=204)


@router.get("/rules", response_model=list[RuleOut])
def list_rules(db: Db, _: Reader, account: Account = None) -> list[RuleOut]:
    """Stored alert rules (the defaults from the settings are not listed)."""
    return [RuleOut(**stored_rules.rule_view(row)) for row in stored_rules.list_rules(session=db, account=account)]


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleCreate, db: Db, _: Admin) -> RuleOut:
    """Add an active rule; its parameters are checked against its kind (422 when they do not fit)."""
    row = stored_rules.add_rule(session=db, rule=stored_rules.RuleIn(**body.model_dump()), now=datetime.now(UTC))
    return RuleOut(**stored_rules.rule_view(row))


@router.put("/rules/{rule_id}", response_model=RuleOut)
def toggle_rule(rule_id: int, body: RuleToggle, db: Db, _: Admin) -> RuleOut:
    """Enable or disable a rule (`{"active": false}`)."""
    row = stored_rules.set_rule_active(session=db, rule_id=row_id("rule", rule_id), active=body.active)
    return RuleOut(**stored_rules.rule_view(row))


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, db: Db, _: Admin) -> Response:
    stored_rules.remove_rule(session=db, rule_id=row_id("rule", rule_id))
    return Response(status_code=204)


@router.get("/outbox", response_model=list[OutboxEntry])
def outbox(
    db: Db,
    _: Reader,
    status: Literal["queued", "sending", "sent", "failed"] | None = None,
    channel: Channel | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OutboxEntry]:
    """Notifications, newest first: status, attempts, last response (URLs redacted)."""
    rows = outbox_view.list_outbox(session=db, status=status, channel=channel, limit=limit)
    return [OutboxEntry(**outbox_view.outbox_view(row)) for row in rows]


@router.post("/alertmanager", response_model=AlertsForwarded, status_code=202)
def alertmanager(body: AlertmanagerWebhook, client: Client, _: Notifier) -> AlertsForwarded:
    """Alertmanager's webhook receiver (`ops/alertmanager/alertmanager.yml`): each alert of the group
    becomes one `send_alert` to the operators' channels. A repeat of the same alert (Alertmanager's
    `repeat_interval`, a retried post, each member of a cluster) is sent to each recipient once."""
    sent = client.send_many(alerts_to_send(body))
    return AlertsForwarded(alerts=len(sent), task_ids=[message.message_id for message in sent])
