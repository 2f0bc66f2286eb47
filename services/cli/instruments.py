"""`tickwork instruments ...`: prices with their age and stale flag, adding an instrument, and
clearing an unknown mark."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import click

from services.cli.database import in_transaction
from services.cli.output import emit
from services.cli.settings import Failure, settings_or_exit
from services.contract.refresh import ASSET_CLASSES
from services.errors import TickworkError


@click.group()
def instruments() -> None:
    """Instruments and their prices."""


@instruments.command("list")
@click.option("--class", "asset_class", type=click.Choice(ASSET_CLASSES), default=None, help="Only this asset class.")
@click.option("--stale", is_flag=True, help="Only stale (or never priced) instruments.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def instruments_list(asset_class: str | None, stale: bool, as_json: bool) -> None:
    """Each instrument's last good price, its source, its age in market time, and why a refresh failed."""
    from services.market_data.catalog import list_prices

    settings = settings_or_exit()
    rows = in_transaction(
        lambda session: list_prices(
            session=session,
            now=datetime.now(UTC),
            max_age_s=settings.tickwork_price_max_age_seconds,
            asset_class=asset_class,
            stale_only=stale,
        )
    )
    columns = ["symbol", "asset_class", "price", "source", "price_at", "age_s", "stale", "unknown", "error"]
    emit([asdict(row) for row in rows], columns, as_json=as_json)


@instruments.command("add")
@click.argument("symbol")
@click.option("--class", "asset_class", type=click.Choice(ASSET_CLASSES), required=True)
@click.option("--providers", required=True, help="Fallback order, e.g. yahoo,stooq or binance,coingecko.")
@click.option(
    "--symbol-at", "mappings", multiple=True, metavar="PROVIDER=SYMBOL", help="e.g. stooq=aapl.us. Repeatable."
)
@click.option("--name", default="", help="Display name (fetch_asset_info fills it when blank).")
def instruments_add(symbol: str, asset_class: str, providers: str, mappings: tuple[str, ...], name: str) -> None:
    """Add an instrument; the next price refresh prices it."""
    from services.market_data.catalog import add_instrument

    symbols = dict(m.split("=", 1) for m in mappings if "=" in m)
    if len(symbols) != len(mappings):
        raise click.BadParameter("expected PROVIDER=SYMBOL", param_hint="--symbol-at")
    try:
        added = in_transaction(
            lambda session: add_instrument(
                session=session,
                symbol=symbol,
                asset_class=asset_class,
                providers=[p.strip() for p in providers.split(",") if p.strip()],
                provider_symbols=symbols,
                name=name,
            )
        )
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(f"instrument {added.symbol} added (providers {', '.join(added.providers)})")


@instruments.command("reactivate")
@click.argument("symbol")
def instruments_reactivate(symbol: str) -> None:
    """Clear SYMBOL's unknown mark so that refreshes ask for it again."""
    from services.market_data.catalog import reactivate

    try:
        in_transaction(lambda session: reactivate(session=session, symbol=symbol))
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(f"instrument {symbol} active; the next refresh asks for it")
