"""Operator shortcuts: the everyday actions under short names (`tickwork update-prices`, `status ID`,
...). Each sends through the client or reads the ledger, as `tickwork send` and `tickwork tasks` do."""

from __future__ import annotations

from typing import Any

import click

from services.cli.database import sessions
from services.cli.output import emit_one
from services.cli.settings import Failure, settings_or_exit
from services.cli.tasks import active, cancel, logs, show, workers
from services.errors import TickworkError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
priority_option = click.option("--priority", type=click.Choice(["critical", "high", "normal", "low"]), default=None)


def _send(actor: str, kwargs: dict[str, Any], priority: str | None, as_json: bool) -> None:
    from services.engine.client import TickworkClient

    settings = settings_or_exit()
    with TickworkClient(settings=settings, ledger=sessions()) as client:
        try:
            sent = client.send(actor, kwargs, priority=priority)
        except TickworkError as error:
            raise Failure(str(error)) from None
    emit_one(
        {"task_id": sent.message_id, "actor": sent.actor, "queue": sent.queue, "priority": sent.priority.value},
        as_json=as_json,
    )


@click.command("update-prices")
@click.option(
    "--asset-class", "asset_classes", multiple=True, type=click.Choice(["equity", "etf", "crypto", "fx", "index"])
)
@priority_option
@json_option
def update_prices(asset_classes: tuple[str, ...], priority: str | None, as_json: bool) -> None:
    """Refresh the prices of every active instrument (refresh_all_prices)."""
    _send("refresh_all_prices", {"asset_classes": list(asset_classes)} if asset_classes else {}, priority, as_json)


@click.command("fetch-market-data")
@click.option("-s", "--symbol", "symbols", multiple=True, required=True, help="Repeatable.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--interval", default="1d", show_default=True)
@priority_option
@json_option
def fetch_market_data(
    symbols: tuple[str, ...], start: Any, end: Any, interval: str, priority: str | None, as_json: bool
) -> None:
    """Backfill OHLCV history (fetch_market_data)."""
    kwargs: dict[str, Any] = {"symbols": list(symbols), "interval": interval}
    if start:
        kwargs["start"] = start.date().isoformat()
    if end:
        kwargs["end"] = end.date().isoformat()
    _send("fetch_market_data", kwargs, priority, as_json)


@click.command("calculate-performance")
@click.option("-p", "--portfolio", "portfolio_id", type=int, required=True)
@click.option("-d", "--days", type=int, default=365, show_default=True)
@priority_option
@json_option
def calculate_performance(portfolio_id: int, days: int, priority: str | None, as_json: bool) -> None:
    """Performance metrics of a portfolio over DAYS (calculate_metrics)."""
    _send("calculate_metrics", {"portfolio_id": portfolio_id, "days": days}, priority, as_json)


def register(main: click.Group) -> None:
    main.add_command(update_prices)
    main.add_command(fetch_market_data)
    main.add_command(calculate_performance)
    # The ledger commands again, under the names operators know from the platform's runbooks.
    main.add_command(show, "status")
    main.add_command(active, "list-active")
    main.add_command(workers, "worker-stats")
    main.add_command(cancel, "cancel")
    main.add_command(logs, "logs")
