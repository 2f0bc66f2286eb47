"""Paper orders and risk limits from a shell: `tickwork orders place|list|show|cancel` and
`tickwork risk show|set|halt|resume|kill-switch|events`. The same use cases as the API, straight on
DATABASE_URL; changes are recorded as made by `cli:<user>`."""

from __future__ import annotations

import getpass
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

ORDER_COLUMNS = ("id", "portfolio_id", "symbol", "side", "type", "quantity", "state", "filled_quantity", "reason")


def _by() -> str:
    return f"cli:{getpass.getuser()}"


@contextmanager
def _session() -> Iterator[Session]:
    from services.storage.db import session_scope

    try:
        with session_scope(settings_or_exit().database_url) as session:
            yield session
    except TickworkError as error:
        raise Failure(str(error)) from None


def _decimal(_: Any, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"not a number: {value!r}", param=param) from None


def _row(model: Any) -> dict[str, Any]:
    return {key: (str(v) if isinstance(v, Decimal) else v) for key, v in model.model_dump().items()}


@click.group()
def orders() -> None:
    """Paper orders: place, list, show with fills, cancel."""


@orders.command("place")
@click.option("--portfolio", "portfolio_id", type=int, required=True)
@click.option("--symbol", required=True)
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--quantity", required=True, callback=_decimal)
@click.option(
    "--type",
    "order_type",
    type=click.Choice(["market", "limit", "stop", "stop_limit", "trailing_stop"]),
    default="market",
)
@click.option("--limit-price", callback=_decimal)
@click.option("--stop-price", callback=_decimal)
@click.option("--trail-amount", callback=_decimal)
@click.option("--trail-percent", callback=_decimal)
@click.option("--tif", "time_in_force", type=click.Choice(["day", "gtc", "ioc", "fok"]), default="day")
@click.option("--extended-hours", is_flag=True)
@click.option("--client-order-id", help="Idempotency key per portfolio (a random one when left out).")
@click.option("--take-profit", callback=_decimal, help="With --stop-loss: a bracket order.")
@click.option("--stop-loss", callback=_decimal)
@click.option("--json", "as_json", is_flag=True)
def place(as_json: bool, **given: Any) -> None:
    """Place an order; a rejected one is stored, printed, and exits with status 2 and its reason."""
    from services.scheduling.market_hours import NYSE
    from services.trading.composition import fee_schedule
    from services.trading.model import OrderTerms, OrderType, Side, TimeInForce
    from services.trading.placing import OrderRequest, place_order

    terms = OrderTerms(
        side=Side(given["side"]),
        type=OrderType(given["order_type"]),
        quantity=given["quantity"],
        limit_price=given["limit_price"],
        stop_price=given["stop_price"],
        trail_amount=given["trail_amount"],
        trail_percent=given["trail_percent"],
        time_in_force=TimeInForce(given["time_in_force"]),
        extended_hours=given["extended_hours"],
    )
    request = OrderRequest(
        given["portfolio_id"],
        given["symbol"],
        terms,
        client_order_id=given["client_order_id"],
        take_profit=given["take_profit"],
        stop_loss=given["stop_loss"],
    )
    settings = settings_or_exit()
    with _session() as session:
        placed = place_order(
            session=session,
            request=request,
            placed_by=_by(),
            now=datetime.now(UTC),
            fees=fee_schedule(settings),
            calendar=NYSE,
        )
        shown = _order_record(placed.order)
    emit_one(shown, as_json=as_json)
    if placed.rejected:
        raise Failure(f"order rejected: {placed.order.reason}")


@orders.command("list")
@click.option("--portfolio", "portfolio_id", type=int)
@click.option(
    "--state", type=click.Choice(["new", "working", "partially_filled", "filled", "cancelled", "expired", "rejected"])
)
@click.option("--symbol")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@click.option("--json", "as_json", is_flag=True)
def list_command(portfolio_id: int | None, state: str | None, symbol: str | None, limit: int, as_json: bool) -> None:
    """Orders, newest first."""
    from services.trading.queries import list_orders

    with _session() as session:
        found = list_orders(session=session, portfolio_id=portfolio_id, state=state, symbol=symbol, limit=limit)
        rows = [_order_record(order) for order in found]
    emit(rows, ORDER_COLUMNS, as_json=as_json)


@orders.command("show")
@click.argument("order_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(order_id: int, as_json: bool) -> None:
    """One order with its fills."""
    from services.api.schemas_trading import FillOut
    from services.trading.queries import fills_of, get_order

    with _session() as session:
        record = _order_record(get_order(session=session, order_id=order_id))
        record["fills"] = [_row(FillOut.model_validate(f)) for f in fills_of(session=session, order_id=order_id)]
    emit_one(record, as_json=as_json)


@orders.command("cancel")
@click.argument("order_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def cancel(order_id: int, as_json: bool) -> None:
    """Cancel an open order (and what is linked to it)."""
    from services.trading.placing import cancel_order

    with _session() as session:
        record = _order_record(cancel_order(session=session, order_id=order_id, now=datetime.now(UTC)))
    emit_one(record, as_json=as_json)


def _order_record(order: Any) -> dict[str, Any]:
    from services.api.schemas_trading import OrderOut

    return _row(OrderOut.model_validate(order))


@click.group()
def risk() -> None:
    """Risk limits per portfolio, halting and resuming, and the kill switch of all trading."""


@risk.command("show")
@click.argument("portfolio_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def risk_show(portfolio_id: int, as_json: bool) -> None:
    """The portfolio's limits and halt."""
    from services.api.schemas_trading import RiskLimitsOut
    from services.trading.limits import limits_of

    with _session() as session:
        record = _row(RiskLimitsOut.model_validate(limits_of(session=session, portfolio_id=portfolio_id)))
    emit_one(record, as_json=as_json)


@risk.command("set")
@click.argument("portfolio_id", type=int)
@click.option("--max-drawdown", type=float, help="A fraction: 0.15 is 15 % from the peak.")
@click.option("--drawdown-sell-share", type=float, help="Share of every position sold on a drawdown breach.")
@click.option("--max-position-weight", type=float)
@click.option("--max-order-value")
@click.option("--max-daily-loss")
@click.option("--target", "targets", multiple=True, metavar="SYMBOL=WEIGHT", help="A target weight. Repeatable.")
@click.option("--drift-threshold", type=float)
@click.option("--clear", multiple=True, help="A limit to remove (e.g. max_order_value). Repeatable.")
@click.option("--json", "as_json", is_flag=True)
def risk_set(portfolio_id: int, targets: tuple[str, ...], clear: tuple[str, ...], as_json: bool, **given: Any) -> None:
    """Change some limits; the others keep their value."""
    from services.api.schemas_trading import RiskLimitsOut
    from services.trading.limits import LimitChanges, set_limits

    values = {name: value for name, value in given.items() if value is not None}
    if targets:
        try:
            values["target_weights"] = {s: float(w) for s, w in (t.split("=", 1) for t in targets)}
        except ValueError:
            raise click.BadParameter("use SYMBOL=WEIGHT, e.g. AAPL=0.25", param_hint="--target") from None
    changes = LimitChanges(values=values, clear=clear)
    with _session() as session:
        row = set_limits(session=session, portfolio_id=portfolio_id, changes=changes, by=_by(), now=datetime.now(UTC))
        record = _row(RiskLimitsOut.model_validate(row))
    emit_one(record, as_json=as_json)


@risk.command("halt")
@click.argument("portfolio_id", type=int)
@click.option("--reason", required=True)
def risk_halt(portfolio_id: int, reason: str) -> None:
    """Refuse the portfolio's new orders until resumed."""
    from services.trading.kill_switch import halt_portfolio

    with _session() as session:
        changed = halt_portfolio(
            session=session, portfolio_id=portfolio_id, by=_by(), reason=reason, now=datetime.now(UTC)
        )
    click.echo(f"portfolio {portfolio_id} {'halted' if changed else 'was already halted'}")


@risk.command("resume")
@click.argument("portfolio_id", type=int)
@click.option("--reason", required=True)
def risk_resume(portfolio_id: int, reason: str) -> None:
    """Let a halted portfolio place orders again."""
    from services.trading.kill_switch import resume_portfolio

    with _session() as session:
        changed = resume_portfolio(
            session=session, portfolio_id=portfolio_id, by=_by(), reason=reason, now=datetime.now(UTC)
        )
    click.echo(f"portfolio {portfolio_id} {'resumed' if changed else 'was not halted'}")


@risk.command("kill-switch")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.option("--reason", help="Required for on and off.")
def risk_kill_switch(state: str, reason: str | None) -> None:
    """`on` halts all trading at once, `off` lets it resume, `status` shows it."""
    from services.trading.kill_switch import kill_switch, set_kill_switch

    with _session() as session:
        if state == "status":
            row = kill_switch(session=session)
        elif not reason:
            raise click.UsageError("--reason is required to turn the kill switch on or off")
        else:
            row = set_kill_switch(session=session, halted=state == "on", by=_by(), reason=reason, now=datetime.now(UTC))
        line = f"kill switch {'ON' if row.halted else 'off'}" + (f" (by {row.by}: {row.reason})" if row.by else "")
    click.echo(line)


@risk.command("events")
@click.option("--portfolio", "portfolio_id", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
@click.option("--json", "as_json", is_flag=True)
def risk_events(portfolio_id: int | None, limit: int, as_json: bool) -> None:
    """Breaches and actions, newest first."""
    from services.api.schemas_trading import RiskEventOut
    from services.trading.queries import risk_events as events

    with _session() as session:
        rows = [
            _row(RiskEventOut.model_validate(e))
            for e in events(session=session, portfolio_id=portfolio_id, limit=limit)
        ]
    emit(rows, ("id", "portfolio_id", "at", "rule", "action", "actor", "reason"), as_json=as_json)
