"""`tickwork notify recipients|rules|outbox`: who gets notified, the alert rules, and the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from services.cli.database import in_transaction
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit

RECIPIENT_COLUMNS = ("id", "account", "portfolio_id", "channel", "address", "min_severity", "alerts", "digest")
RULE_COLUMNS = ("id", "account", "portfolio_id", "kind", "params", "severity", "cooldown_s", "active")
OUTBOX_COLUMNS = ("id", "channel", "recipient", "subject", "status", "attempts", "updated_at", "last_response")


def _guard() -> Any:
    from services.notifications.ssrf import SsrfGuard

    return SsrfGuard.from_setting(settings_or_exit().tickwork_ssrf_allow)


@click.group()
def notify() -> None:
    """Notifications: recipients and their preferences, alert rules, the outbox."""


# -- recipients -----------------------------------------------------------------------------------------


@notify.group()
def recipients() -> None:
    """Where each account's alerts and digests go."""


@recipients.command("list")
@click.option("--account", default=None, help="Only this account's recipients.")
@click.option("--json", "as_json", is_flag=True)
def recipients_list(account: str | None, as_json: bool) -> None:
    """Recipients by account; webhook and Slack URLs are shown redacted."""
    from services.notifications.recipients import list_recipients, recipient_view

    rows = in_transaction(lambda s: [recipient_view(r) for r in list_recipients(session=s, account=account)])
    emit(rows, RECIPIENT_COLUMNS, as_json=as_json)


@recipients.command("add")
@click.argument("account")
@click.argument("channel", type=click.Choice(["email", "slack", "webhook"]))
@click.argument("address")
@click.option("--portfolio", "portfolio_id", type=int, default=None, help="Only this portfolio's alerts.")
@click.option(
    "--min-severity",
    type=click.Choice(["info", "warning", "critical"]),
    default="warning",
    show_default=True,
    help="Alerts below this severity are not sent here.",
)
@click.option("--alerts/--no-alerts", default=True, show_default=True, help="Send alerts here.")
@click.option("--digest/--no-digest", default=True, show_default=True, help="Send the daily digest (email only).")
@click.option("--json", "as_json", is_flag=True)
def recipients_add(
    account: str,
    channel: str,
    address: str,
    portfolio_id: int | None,
    min_severity: str,
    alerts: bool,
    digest: bool,
    as_json: bool,
) -> None:
    """Add ADDRESS (an email address, or a webhook or Slack URL, checked by the SSRF guard now)."""
    from services.notifications.recipients import RecipientIn, add_recipient

    wanted = RecipientIn(
        account=account,
        channel=channel,
        address=address,
        portfolio_id=portfolio_id,
        min_severity=min_severity,
        alerts=alerts,
        digest=digest and channel == "email",
    )
    guard = _guard()
    now = datetime.now(UTC)
    row = in_transaction(lambda s: _created_view(add_recipient(session=s, recipient=wanted, guard=guard, now=now)))
    emit_one(row, as_json=as_json)
    if row.get("signing_secret") and not as_json:
        click.echo("the signing secret is shown only now: give it to the receiver to verify X-Tickwork-Signature")


def _created_view(row: Any) -> dict[str, Any]:
    from services.notifications.recipients import recipient_view

    view = recipient_view(row)
    return {**view, "signing_secret": row.signing_secret} if row.signing_secret else view


@recipients.command("remove")
@click.argument("recipient_id", type=int)
def recipients_remove(recipient_id: int) -> None:
    """Remove a recipient (its past outbox rows stay)."""
    from services.notifications.recipients import remove_recipient

    in_transaction(lambda s: remove_recipient(session=s, recipient_id=recipient_id))
    click.echo(f"removed recipient {recipient_id}")


# -- alert rules ----------------------------------------------------------------------------------------


@notify.group()
def rules() -> None:
    """Alert rules; accounts without their own rule of a kind get the default from the settings."""


@rules.command("list")
@click.option("--account", default=None, help="Only this account's rules.")
@click.option("--json", "as_json", is_flag=True)
def rules_list(account: str | None, as_json: bool) -> None:
    """Stored rules (the defaults from the settings are not listed)."""
    from services.notifications.stored_rules import list_rules, rule_view

    rows = in_transaction(lambda s: [rule_view(r) for r in list_rules(session=s, account=account)])
    emit(rows, RULE_COLUMNS, as_json=as_json)


@rules.command("add")
@click.argument("kind")
@click.option("--account", default=None, help="Whose rule (default: the operators').")
@click.option("--portfolio", "portfolio_id", type=int, default=None, help="Only this portfolio.")
@click.option("--limit", type=float, default=None, help="A fraction: 0.10 is 10 % (default: the setting's).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Another parameter (VALUE read as JSON if it parses).",
)
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]), default="warning", show_default=True)
@click.option("--cooldown", "cooldown_s", type=float, default=3600.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True)
def rules_add(
    kind: str,
    account: str | None,
    portfolio_id: int | None,
    limit: float | None,
    params: tuple[str, ...],
    severity: str,
    cooldown_s: float,
    as_json: bool,
) -> None:
    """Add a rule of KIND: drawdown, daily_pnl, position_weight, price_move, stale_prices, overdue_jobs."""
    from services.notifications.stored_rules import RuleIn, add_rule, rule_view

    values = dict(_param(item) for item in params)
    if limit is not None:
        values["limit"] = limit
    wanted = RuleIn(
        kind=kind, params=values, account=account, portfolio_id=portfolio_id, severity=severity, cooldown_s=cooldown_s
    )
    now = datetime.now(UTC)
    emit_one(in_transaction(lambda s: rule_view(add_rule(session=s, rule=wanted, now=now))), as_json=as_json)


def _param(item: str) -> tuple[str, Any]:
    name, sep, text = item.partition("=")
    if not sep or not name:
        raise Failure(f"--param {item!r}: expected NAME=VALUE")
    try:
        return name, json.loads(text)
    except json.JSONDecodeError:
        return name, text


@rules.command("enable")
@click.argument("rule_id", type=int)
def rules_enable(rule_id: int) -> None:
    """Evaluate this rule again."""
    from services.notifications.stored_rules import set_rule_active

    in_transaction(lambda s: set_rule_active(session=s, rule_id=rule_id, active=True))
    click.echo(f"enabled rule {rule_id}")


@rules.command("disable")
@click.argument("rule_id", type=int)
def rules_disable(rule_id: int) -> None:
    """Stop evaluating this rule (kept, to enable later)."""
    from services.notifications.stored_rules import set_rule_active

    in_transaction(lambda s: set_rule_active(session=s, rule_id=rule_id, active=False))
    click.echo(f"disabled rule {rule_id}")


@rules.command("remove")
@click.argument("rule_id", type=int)
def rules_remove(rule_id: int) -> None:
    """Delete a rule."""
    from services.notifications.stored_rules import remove_rule

    in_transaction(lambda s: remove_rule(session=s, rule_id=rule_id))
    click.echo(f"removed rule {rule_id}")


# -- the outbox -----------------------------------------------------------------------------------------


@notify.command("outbox")
@click.option("--status", type=click.Choice(["queued", "sending", "sent", "failed"]), default=None)
@click.option("--channel", type=click.Choice(["email", "slack", "webhook"]), default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def outbox(status: str | None, channel: str | None, limit: int, as_json: bool) -> None:
    """Notifications, newest first, with their status, attempts and last response (URLs redacted)."""
    from services.notifications.outbox_view import list_outbox, outbox_view

    rows = in_transaction(
        lambda s: [outbox_view(r) for r in list_outbox(session=s, status=status, channel=channel, limit=limit)]
    )
    emit(rows, OUTBOX_COLUMNS, as_json=as_json)
