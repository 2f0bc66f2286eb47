"""Trading bots from a shell: `tickwork bots list|show|create|update|pause|resume|delete|signals`.
The same use cases as /api/v1/bots, straight on DATABASE_URL; made by `cli:<user>`."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from sqlmodel import Session

from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit
from services.errors import TickworkError

BOT_COLUMNS = ("id", "name", "symbol", "strategy", "cadence", "state", "in_position", "daily_trades", "daily_pnl")
SIZING_MODES = ["fixed_notional", "equity_share", "risk_per_trade"]
REQUIRED = (("--name", "name"), ("--portfolio", "portfolio_id"), ("--symbol", "symbol"))
SIGNAL_COLUMNS = ("id", "at", "action", "outcome", "reason", "order_id")
DECIMALS = (
    "sizing_value",
    "capital",
    "stop_loss_pct",
    "take_profit_pct",
    "trailing_stop_pct",
    "max_daily_loss_pct",
    "daily_profit_target_pct",
)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _session() -> Iterator[Session]:
    from services.storage.db import session_scope

    try:
        with session_scope(settings_or_exit().database_url) as session:
            yield session
    except TickworkError as error:
        raise Failure(str(error)) from None


def _row(view: Any) -> dict[str, Any]:
    state = view.state.model_dump(exclude={"bot_id", "run_token"})
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in {**view.bot.model_dump(), **state}.items()}


def _fields(given: dict[str, Any]) -> dict[str, Any]:
    """The options given, typed as the tables want them."""
    fields: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name in DECIMALS:
            try:
                value = Decimal(value)
            except InvalidOperation:
                raise click.BadParameter(f"--{name.replace('_', '-')}: not a number: {value!r}") from None
        if name == "params":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise click.BadParameter(f"--params: not JSON: {error}") from None
        fields[name] = value
    return fields


def _settings_options(function: Any) -> Any:
    options = [
        click.option("--name"),
        click.option("--portfolio", "portfolio_id", type=int),
        click.option("--symbol"),
        click.option("--strategy", help="A registered strategy (default ema_crossover_rsi)."),
        click.option("--params", help='Strategy parameters as JSON, e.g. \'{"fast": 9, "slow": 21}\'.'),
        click.option("--bar-interval", type=click.Choice(["1m", "5m", "15m", "1h", "1d", "1wk"])),
        click.option("--bars-needed", type=int),
        click.option("--cadence", type=click.Choice(["every_minute", "hourly", "at_close"])),
        click.option("--market-hours-only/--around-the-clock", default=None),
        click.option(
            "--sizing", "sizing_mode", type=click.Choice(["fixed_notional", "equity_share", "risk_per_trade"])
        ),
        click.option("--sizing-value", help="Money for fixed_notional, else a fraction (0.1 = 10 %)."),
        click.option("--capital"),
        click.option("--stop-loss-pct"),
        click.option("--take-profit-pct"),
        click.option("--trailing-stop-pct"),
        click.option("--max-trades-per-day", type=int),
        click.option("--max-daily-loss-pct"),
        click.option("--daily-profit-target-pct"),
        click.option("--active/--inactive", default=None),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group()
def bots() -> None:
    """Trading bots: configuration, state, pause and resume, their signals."""


@bots.command("list")
@click.option("--state", type=click.Choice(["idle", "running", "waiting", "paused_daily_limit", "paused", "error"]))
@click.option("--portfolio", "portfolio_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def list_command(state: str | None, portfolio_id: int | None, as_json: bool) -> None:
    """Every bot with its state."""
    from services.bots.admin import list_bots

    with _session() as session:
        rows = [_row(view) for view in list_bots(session=session, state=state, portfolio_id=portfolio_id)]
    emit(rows, BOT_COLUMNS, as_json=as_json)


@bots.command("show")
@click.argument("bot_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(bot_id: int, as_json: bool) -> None:
    """One bot: configuration, state, position and counters."""
    from services.bots.admin import get_bot

    with _session() as session:
        emit_one(_row(get_bot(session=session, bot_id=bot_id)), as_json=as_json)


@bots.command("create")
@_settings_options
@click.option("--json", "as_json", is_flag=True)
def create(as_json: bool, **given: Any) -> None:
    """A new bot (name, portfolio and symbol are required); checked before it is saved."""
    from services.bots.admin import create_bot

    fields = _fields(given)
    missing = [
        f"--{n}"
        for n, key in (("name", "name"), ("portfolio", "portfolio_id"), ("symbol", "symbol"))
        if key not in fields
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    fields.setdefault("strategy", "ema_crossover_rsi")
    with _session() as session:
        emit_one(
            _row(create_bot(session=session, fields=fields, by=f"cli:{getpass.getuser()}", now=_now())), as_json=as_json
        )


@bots.command("update")
@click.argument("bot_id", type=int)
@_settings_options
@click.option("--json", "as_json", is_flag=True)
def update(bot_id: int, as_json: bool, **given: Any) -> None:
    """Change the settings given; the rest stays."""
    from services.bots.admin import update_bot

    with _session() as session:
        emit_one(_row(update_bot(session=session, bot_id=bot_id, changes=_fields(given), now=_now())), as_json=as_json)


@bots.command("pause")
@click.argument("bot_id", type=int)
def pause(bot_id: int) -> None:
    """Pause a bot until resumed (the daily reset does not wake it)."""
    from services.bots.admin import pause_bot

    with _session() as session:
        view = pause_bot(session=session, bot_id=bot_id, by=f"cli:{getpass.getuser()}", now=_now())
    click.echo(f"bot {bot_id} {view.state.state}")


@bots.command("resume")
@click.argument("bot_id", type=int)
def resume(bot_id: int) -> None:
    """Resume a paused bot (or one in error)."""
    from services.bots.admin import resume_bot

    with _session() as session:
        view = resume_bot(session=session, bot_id=bot_id, now=_now())
    click.echo(f"bot {bot_id} {view.state.state}")


@bots.command("delete")
@click.argument("bot_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask.")
def delete(bot_id: int, yes: bool) -> None:
    """Delete a bot, its state and signals (its orders stay with the portfolio)."""
    from services.bots.admin import delete_bot

    if not yes:
        click.confirm(f"delete bot {bot_id} and its signals?", abort=True)
    with _session() as session:
        delete_bot(session=session, bot_id=bot_id)
    click.echo(f"bot {bot_id} deleted")


@bots.command("signals")
@click.argument("bot_id", type=int)
@click.option("--outcome", type=click.Choice(["traded", "no_trade", "skipped", "paused", "error"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def signals(bot_id: int, outcome: str | None, limit: int, as_json: bool) -> None:
    """A bot's newest signals: every run's decision, reason and order."""
    from services.bots.admin import list_signals

    with _session() as session:
        found = list_signals(session=session, bot_id=bot_id, limit=limit, outcome=outcome)
        rows = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in s.model_dump().items()} for s in found]
    emit(rows, SIGNAL_COLUMNS, as_json=as_json)
