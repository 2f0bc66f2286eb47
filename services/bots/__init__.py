"""Trading bots: strategies run on a cadence, one run per bot at a time, trading only through the
orders service (services/trading/placing.py), every decision kept as a TradingSignal row."""
