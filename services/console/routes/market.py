"""Market data: each provider's circuit, rate budget, latency and errors; instruments by freshness; refresh."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from services.api.tokens import Scope
from services.console import operations
from services.console.app import client_of, done
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.console.session import action
from services.market_data.catalog import PROVIDERS, list_prices
from services.market_data.provider_health import provider_health
from services.market_data.providers import budgets

router = APIRouter()


@router.get("/market")
def market_page(request: Request, who: Seen, stale: bool = False) -> Response:
    settings = settings_of(request)
    with operations.reading(settings) as db:
        providers = provider_health(
            session=db,
            providers=PROVIDERS,
            budgets=budgets(settings),
            failures_to_open=settings.tickwork_circuit_failures,
            now=time.time(),
        )
        prices = list_prices(
            session=db, now=datetime.now(UTC), max_age_s=settings.tickwork_price_max_age_seconds, stale_only=stale
        )
    # Stale first, the oldest at the top: what needs attention.
    prices.sort(key=lambda p: (not p.stale, -(p.age_s if p.age_s is not None else float("inf"))))
    return render(
        request,
        "market.html",
        who,
        providers=providers,
        prices=prices,
        stale_only=stale,
        max_age_s=settings.tickwork_price_max_age_seconds,
        stale_count=sum(p.stale for p in prices),
    )


@router.post("/market/refresh")
async def refresh(request: Request) -> Response:
    _, form = await action(request, Scope.CREATE)
    client = client_of(request)
    symbol = form.get("symbol")
    if symbol:
        sent = operations.send(client, "fetch_market_data", {"symbols": [symbol]})
        notice = f"fetch_market_data sent for {symbol} (task {sent.message_id})"
    else:
        classes = [c for c in form.getlist("asset_class") if c]
        sent = operations.send(client, "refresh_all_prices", {"asset_classes": classes} if classes else {})
        notice = f"refresh_all_prices sent (task {sent.message_id})"
    request.state.audit_detail = {"task_id": sent.message_id}
    return done(request, notice, "/console/market", task_id=sent.message_id)
