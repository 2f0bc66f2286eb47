"""The sandbox market: simulated quotes and history served in each provider's real wire format.

`tickwork sandbox` serves Yahoo Finance, Binance, CoinGecko and Stooq under one local HTTP server,
like an exchange's testnet, so the workers show real work on a machine with no internet and the
providers are tested against the formats, errors and rate limits they meet live (docs/sandbox.md).
"""
