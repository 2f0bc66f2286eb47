"""Portfolios: positions rebuilt from trades, valuation against the prices we hold (staleness in
market time), daily snapshots, performance metrics, and the demo seed. Conventions are written in
docs/market-data.md, "Portfolio figures and their conventions"."""
