"""The console in a real browser: Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from services.portfolio.revaluation import revalue_portfolios
from services.storage.db import session_factory
from tests.support.bots import BotDesk
from tests.support.trading_books import Clock, Desk

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[Any]:
    """A browser context on a fresh profile in `user_data_dir`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT
        )
        try:
            yield context
        finally:
            context.close()


class ConsolePage:
    """A browser tab on the console that records console errors and failed requests."""

    def __init__(self, context: Any, base_url: str) -> None:
        self.page = context.new_page()
        self.base = base_url
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("dialog", lambda dialog: dialog.accept())  # "Cancel this task?" and the like

    def open(self, path: str) -> Any:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def login(self, token: str, then: str = "/console/") -> Any:
        self.open(f"/console/login?next={then}")
        self.page.fill("input[name=token]", token)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(re.escape(self.base + then) + r"(\?.*)?$"))
        return self.page

    def screenshot(self, name: str, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def http_session(base_url: str, token: str) -> tuple[requests.Session, str]:
    """A logged-in requests session and its CSRF token (as the page's meta tag gives it)."""
    session = requests.Session()
    form = session.get(f"{base_url}/console/login", timeout=10)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    reply = session.post(f"{base_url}/console/login", data={"nonce": nonce, "token": token}, timeout=10)
    reply.raise_for_status()
    page = session.get(f"{base_url}/console/tasks", timeout=10)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return session, csrf


@dataclass(frozen=True)
class TradingSeed:
    portfolio_id: int
    working_order_id: int
    bot_id: int


def seed_trading(database_url: str) -> TradingSeed:
    """What the trading page shows: a funded portfolio holding BTC-USD from a filled market buy and
    valued at a higher price since, a limit buy working below the market, and a bot that has run once
    (its signal and the market buy it placed). The desk's clock starts a little in the past, so that
    nothing is stamped after the page's now."""
    desk = Desk(database_url, Clock(datetime.now(UTC) - timedelta(seconds=30)))
    portfolio_id = desk.fund("100000", account="dana")
    btc = desk.instrument("BTC-USD", "crypto", price="97310.5")
    desk.place("BTC-USD", "buy", "0.5")
    desk.price(btc, "97400")
    desk.process()
    desk.price(btc, "98012.25")
    working = desk.place("BTC-USD", "buy", "0.25", "limit", limit_price="90000").order.id or 0
    revalue_portfolios(
        session_factory=session_factory(database_url),
        max_age_seconds=3600,
        portfolio_ids=[portfolio_id],
        now=desk.clock(),
    )
    bots = BotDesk(desk)
    bot_id = bots.create("BTC-USD", name="btc-ema-crossover")
    bots.run(bot_id)
    return TradingSeed(portfolio_id, working, bot_id)
