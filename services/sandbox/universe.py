"""The sandbox's instruments and how each provider spells them (docs/sandbox.md, "The universe").

Fixed demo symbols, plus generated ones: SIM0001..SIM9999 (equities) and SIMC0001..SIMC9999
(crypto), whose names and price levels are derived from their number. Anything else is unknown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from services.sandbox.path import symbol_seed, unit

EQUITY = "equity"
ETF = "etf"
CRYPTO = "crypto"
GENERATED_COUNT = 9999


@dataclass(frozen=True)
class Asset:
    """One instrument of the simulated market, under our symbol."""

    symbol: str
    asset_class: str  # "equity", "etf" or "crypto"
    name: str
    base_price: float  # the level the price wanders around
    daily_volatility: float  # of the log price over one trading day
    daily_volume: float  # shares, or coins, per day
    listed: date
    exchange: str = ""  # Yahoo's code: NMS, NYQ, PCX
    sector: str | None = None
    industry: str | None = None
    coin_id: str | None = None  # CoinGecko's id
    categories: tuple[str, ...] = ()
    homepage: str = ""

    @property
    def is_crypto(self) -> bool:
        return self.asset_class == CRYPTO

    @property
    def decimals(self) -> int:
        """Price decimals: cents for stocks; for coins about six significant digits."""
        if not self.is_crypto:
            return 2
        return max(2, min(8, 4 - math.floor(math.log10(self.base_price))))

    @property
    def yahoo(self) -> str | None:
        return None if self.is_crypto else self.symbol

    @property
    def stooq(self) -> str | None:
        return None if self.is_crypto else f"{self.symbol.lower()}.us"

    @property
    def binance(self) -> str | None:
        return f"{self.symbol.removesuffix('-USD')}USDT" if self.is_crypto else None

    @property
    def base_asset(self) -> str:
        return self.symbol.removesuffix("-USD")


STOCK_LISTED = date(2016, 1, 4)  # the sandbox's history starts here for every stock


def _stock(symbol: str, name: str, exchange: str, sector: str, industry: str, price: float, vol: float, volume: float):
    asset_class = ETF if sector == "ETF" else EQUITY
    sector_or_none = None if asset_class == ETF else sector
    industry_or_none = None if asset_class == ETF else industry
    return Asset(
        symbol, asset_class, name, price, vol, volume, STOCK_LISTED, exchange, sector_or_none, industry_or_none
    )


def _coin(symbol: str, coin_id: str, name: str, price: float, vol: float, volume: float, listed: date, *extra: str):
    categories = ("Cryptocurrency", *extra)
    homepage = f"https://{coin_id}.org/"
    return Asset(
        symbol, CRYPTO, name, price, vol, volume, listed, coin_id=coin_id, categories=categories, homepage=homepage
    )


DEMO: dict[str, Asset] = {
    asset.symbol: asset
    for asset in (
        _stock("AAPL", "Apple Inc.", "NMS", "Technology", "Consumer Electronics", 230, 0.016, 55e6),
        _stock("MSFT", "Microsoft Corporation", "NMS", "Technology", "Software - Infrastructure", 420, 0.015, 22e6),
        _stock("NVDA", "NVIDIA Corporation", "NMS", "Technology", "Semiconductors", 140, 0.03, 250e6),
        _stock("AMZN", "Amazon.com, Inc.", "NMS", "Consumer Cyclical", "Internet Retail", 200, 0.02, 45e6),
        _stock(
            "GOOGL",
            "Alphabet Inc.",
            "NMS",
            "Communication Services",
            "Internet Content & Information",
            170,
            0.018,
            28e6,
        ),
        _stock("JPM", "JPMorgan Chase & Co.", "NYQ", "Financial Services", "Banks - Diversified", 240, 0.013, 9e6),
        _stock("XOM", "Exxon Mobil Corporation", "NYQ", "Energy", "Oil & Gas Integrated", 115, 0.014, 15e6),
        _stock("SPY", "SPDR S&P 500 ETF Trust", "PCX", "ETF", "", 590, 0.01, 60e6),
        _stock("QQQ", "Invesco QQQ Trust, Series 1", "NMS", "ETF", "", 510, 0.013, 35e6),
        _stock("TLT", "iShares 20+ Year Treasury Bond ETF", "NMS", "ETF", "", 90, 0.009, 30e6),
        _stock("GLD", "SPDR Gold Shares", "PCX", "ETF", "", 245, 0.009, 8e6),
        _coin("BTC-USD", "bitcoin", "Bitcoin", 95000, 0.03, 25000, date(2017, 8, 17), "Layer 1 (L1)"),
        _coin(
            "ETH-USD",
            "ethereum",
            "Ethereum",
            3300,
            0.04,
            400000,
            date(2017, 8, 17),
            "Layer 1 (L1)",
            "Smart Contract Platform",
        ),
        _coin(
            "SOL-USD", "solana", "Solana", 230, 0.05, 3e6, date(2020, 8, 11), "Layer 1 (L1)", "Smart Contract Platform"
        ),
    )
}
COINGECKO_IDS = {asset.coin_id: asset.symbol for asset in DEMO.values() if asset.coin_id}

SECTORS = (
    ("Technology", "Software - Application"),
    ("Healthcare", "Biotechnology"),
    ("Financial Services", "Banks - Regional"),
    ("Industrials", "Specialty Industrial Machinery"),
    ("Consumer Defensive", "Packaged Foods"),
    ("Energy", "Oil & Gas E&P"),
    ("Utilities", "Utilities - Regulated Electric"),
    ("Real Estate", "REIT - Industrial"),
)
_SIM = re.compile(r"SIM(\d{4})")
_SIMC = re.compile(r"SIMC(\d{4})")
_SIM_COIN_ID = re.compile(r"sim-coin-(\d{4})")


def _draw(symbol: str, what: int) -> float:
    return unit(symbol_seed(symbol), 1000 + what, 0)


def _log_uniform(low: float, high: float, u: float) -> float:
    return math.exp(math.log(low) + (math.log(high) - math.log(low)) * u)


@lru_cache(maxsize=32768)
def _generated(symbol: str) -> Asset | None:
    if (match := _SIM.fullmatch(symbol)) and int(match[1]) >= 1:
        number = match[1]
        sector, industry = SECTORS[int(_draw(symbol, 0) * len(SECTORS))]
        return Asset(
            symbol,
            EQUITY,
            f"Sim Industries {number} Inc.",
            base_price=_log_uniform(5, 500, _draw(symbol, 1)),
            daily_volatility=0.01 + 0.03 * _draw(symbol, 2),
            daily_volume=_log_uniform(2e5, 2e7, _draw(symbol, 3)),
            listed=STOCK_LISTED,
            exchange="NMS" if _draw(symbol, 4) < 0.6 else "NYQ",
            sector=sector,
            industry=industry,
        )
    if (match := _SIMC.fullmatch(symbol)) and int(match[1]) >= 1:
        number = match[1]
        coin_id = f"sim-coin-{number}"
        price = _log_uniform(0.01, 2000, _draw(symbol, 1))
        return Asset(
            symbol,
            CRYPTO,
            f"Sim Coin {number}",
            base_price=price,
            daily_volatility=0.03 + 0.05 * _draw(symbol, 2),
            daily_volume=_log_uniform(1e5, 1e8, _draw(symbol, 3)) / price,
            listed=date(2020, 1, 1),
            coin_id=coin_id,
            categories=("Cryptocurrency", "Sandbox"),
            homepage=f"https://sandbox.invalid/{coin_id}",
        )
    return None


def asset(symbol: str) -> Asset | None:
    """The asset under our symbol (AAPL, BTC-USD, SIM0042, SIMC0042; SIMC0042-USD too), or None."""
    if symbol in DEMO:
        return DEMO[symbol]
    if symbol.startswith("SIMC"):
        return _generated(symbol.removesuffix("-USD"))
    if symbol.startswith("SIM") and not symbol.startswith("SIMC"):
        return _generated(symbol)
    return None


def from_yahoo(symbol: str) -> Asset | None:
    found = asset(symbol.upper())  # Yahoo's symbols are case-insensitive
    return found if found and not found.is_crypto else None


def from_stooq(symbol: str) -> Asset | None:
    lowered = symbol.lower()
    if not lowered.endswith(".us"):
        return None
    found = asset(lowered.removesuffix(".us").upper())
    return found if found and not found.is_crypto else None


def from_binance(symbol: str) -> Asset | None:
    if not symbol.endswith("USDT"):
        return None
    found = asset(f"{symbol.removesuffix('USDT')}-USD")
    return found if found and found.is_crypto else None


def from_coingecko(coin_id: str) -> Asset | None:
    if coin_id in COINGECKO_IDS:
        return DEMO[COINGECKO_IDS[coin_id]]
    if match := _SIM_COIN_ID.fullmatch(coin_id):
        return _generated(f"SIMC{match[1]}")
    return None


def generated_symbols(prefix: str, count: int = GENERATED_COUNT) -> list[str]:
    """Our symbols SIM0001.. (prefix "SIM") or SIMC0001.. (prefix "SIMC"), `count` of them."""
    return [f"{prefix}{number:04d}" for number in range(1, count + 1)]
